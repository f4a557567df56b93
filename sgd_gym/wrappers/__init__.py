"""Wrappers that give RL libraries the spaces they need."""

from sgd_gym.wrappers.discrete import ValidActionDiscrete
from sgd_gym.wrappers.observation import BagOfWordsObservation
from sgd_gym.wrappers.subgoals import DiscreteSubgoals

__all__ = ["BagOfWordsObservation", "DiscreteSubgoals", "ValidActionDiscrete"]
