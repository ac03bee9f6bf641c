"""Benchmark runs (`musicgenie bench`): storage, `GET /benchmarks`, and the ranking behind `auto`."""
