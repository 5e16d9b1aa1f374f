"""On-demand speed figures (`make benchmarks`); never part of `make test`."""
