"""sgd-gym: ScienceWorld as Gymnasium environments, for sub-goal distillation and RL."""

from gymnasium.envs.registration import register, registry

from sgd_gym.envs.scienceworld import ScienceWorldEnv
from sgd_gym.tasks import TASK_NAMES, TASKS, get_task

__version__ = "0.1.0"

# id -> (entry point, TimeLimit). The options envs count their budget in primitive steps themselves
# (max_primitive_steps, default 100): a TimeLimit would count options.
_ENVS = {
    "sgd_gym/ScienceWorld-v0": ("sgd_gym.envs.scienceworld:ScienceWorldEnv", 100),
    "sgd_gym/ScienceWorldOptions-v0": ("sgd_gym.envs.options:ScienceWorldOptionsEnv", None),
    "sgd_gym/ScienceWorldOptionsDiscrete-v0": ("sgd_gym.wrappers.subgoals:make_discrete_options_env", None),
}
for _id, (_entry_point, _limit) in _ENVS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry_point, max_episode_steps=_limit)

__all__ = ["TASKS", "TASK_NAMES", "ScienceWorldEnv", "get_task", "__version__"]
