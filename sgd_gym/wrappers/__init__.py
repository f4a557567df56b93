"""Wrappers that give RL libraries the spaces they need."""

from sgd_gym.wrappers.action_mask import ActionMaskObservation
from sgd_gym.wrappers.candidates import CandidateObservation
from sgd_gym.wrappers.discrete import DEFAULT_MAX_ACTIONS, ValidActionDiscrete, order_actions
from sgd_gym.wrappers.multitask import MultiTask
from sgd_gym.wrappers.observation import BagOfWordsObservation, encode_observation
from sgd_gym.wrappers.option_budget import RejectOptionTimeLimit
from sgd_gym.wrappers.subgoals import DiscreteSubgoals
from sgd_gym.wrappers.text_embedding import MiniLMEncoder, MiniLMObservation

__all__ = [
    "ActionMaskObservation",
    "DEFAULT_MAX_ACTIONS",
    "BagOfWordsObservation",
    "CandidateObservation",
    "DiscreteSubgoals",
    "MiniLMEncoder",
    "MiniLMObservation",
    "MultiTask",
    "RejectOptionTimeLimit",
    "ValidActionDiscrete",
    "encode_observation",
    "order_actions",
]
