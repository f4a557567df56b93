"""The data pipeline: collect gold trajectories, annotate them with sub-goals, build datasets."""
