"""The sub-goal distillation agent: data pipeline, seq2seq models, training and inference."""

from agents.agent import Agent

__all__ = ["Agent"]
