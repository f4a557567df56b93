"""Benchmarks: evaluation protocol runners, env throughput, result tables and plots."""
