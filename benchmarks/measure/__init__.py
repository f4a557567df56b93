"""Measurements: env and evaluation throughput, model latency, error analyses; each writes its JSON and a marked
section of ``benchmarks/RESULTS.md`` through ``benchmarks.measure.results.publish``."""
