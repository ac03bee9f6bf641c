"""Statistics: totals, success rate, speed per device and precision, a per-day series, storage, benchmarks."""
