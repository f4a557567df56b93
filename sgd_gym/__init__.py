"""sgd-gym: ScienceWorld as Gymnasium environments, for sub-goal distillation and RL."""

from gymnasium.envs.registration import register, registry

from sgd_gym.envs.scienceworld import ScienceWorldEnv
from sgd_gym.tasks import TASK_NAMES, TASKS, get_task

__version__ = "0.1.0"

if "sgd_gym/ScienceWorld-v0" not in registry:
    register(
        id="sgd_gym/ScienceWorld-v0",
        entry_point="sgd_gym.envs.scienceworld:ScienceWorldEnv",
        max_episode_steps=100,
    )

__all__ = ["TASKS", "TASK_NAMES", "ScienceWorldEnv", "get_task", "__version__"]
