"""Fuzz harnesses: hypothesis runs with bounded examples in the normal suite (long mode: benchmarks/fuzz.py)."""
