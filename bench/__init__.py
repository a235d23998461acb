"""WalkWell benchmarks: `make bench` (python -m bench [--quick]) prints one table."""
