"""Results: one submission's results, check by check, and one way of counting the total (``results``)."""
