"""Files: trees a submission made, walked, copied and removed without recursion and without following a
link (``trees``)."""
