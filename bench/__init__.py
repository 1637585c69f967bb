"""Performance benchmark: `make bench` (see bench/run.py and bench/RESULTS.md)."""
