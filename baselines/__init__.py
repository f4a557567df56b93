"""Comparable agents: random, oracle (gold path), and later flat imitation, PPO and LLM agents."""

from baselines.oracle import OracleAgent
from baselines.random_agent import RandomAgent

__all__ = ["OracleAgent", "RandomAgent"]
