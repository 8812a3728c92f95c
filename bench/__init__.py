"""Benchmarks (run as scripts; see BENCHMARKS.md). Never imported by `kg/` or `bot/`."""
