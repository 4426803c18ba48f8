"""Benchmarks: figures measured in one run, never timed assertions."""
