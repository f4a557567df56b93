"""Wrappers that give RL libraries the spaces they need."""

from sgd_gym.wrappers.discrete import ValidActionDiscrete
from sgd_gym.wrappers.multitask import MultiTask
from sgd_gym.wrappers.observation import BagOfWordsObservation, encode_observation
from sgd_gym.wrappers.subgoals import DiscreteSubgoals

__all__ = ["BagOfWordsObservation", "DiscreteSubgoals", "MultiTask", "ValidActionDiscrete", "encode_observation"]
