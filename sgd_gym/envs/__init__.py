"""The environments, one module each."""

from sgd_gym.envs.options import ScienceWorldOptionsEnv
from sgd_gym.envs.scienceworld import ScienceWorldEnv

__all__ = ["ScienceWorldEnv", "ScienceWorldOptionsEnv"]
