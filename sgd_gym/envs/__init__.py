"""The environments, one module each."""

from sgd_gym.envs.scienceworld import ScienceWorldEnv

__all__ = ["ScienceWorldEnv"]
