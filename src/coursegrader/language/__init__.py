"""Language: which edition a notebook is, and a lab's texts translated with its gettext catalog (``catalog``)."""
