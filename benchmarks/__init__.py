"""Realtime-factor benchmarks of the inference engine."""
