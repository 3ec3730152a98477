"""Evaluation: strict entity-level scores and the benchmark runner."""
