"""`python -m benchmarks run ...` (the same command as `musicgenie bench`)."""

from benchmarks.cli import main

main(prog_name="python -m benchmarks")
