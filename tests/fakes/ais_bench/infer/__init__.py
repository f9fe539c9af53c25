"""ais_bench.infer stand-in."""
