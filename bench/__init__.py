"""Benchmarks of envdeck, run as scripts (`python -m bench.dashboard`), never as tests."""
