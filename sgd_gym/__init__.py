"""sgd-gym: ScienceWorld as Gymnasium environments, for sub-goal distillation and RL."""

from gymnasium.envs.registration import WrapperSpec, register, registry

from sgd_gym.envs.scienceworld import ScienceWorldEnv
from sgd_gym.tasks import TASK_NAMES, TASKS, get_task

__version__ = "0.1.0"

# The options ids count their budget in primitive steps themselves (max_primitive_steps, default 100): a
# TimeLimit from gym.make(max_episode_steps=...) would count options, so they are registered without one and
# RejectOptionTimeLimit, outermost, refuses it.
_REJECT_OPTION_TIME_LIMIT = WrapperSpec(
    name="RejectOptionTimeLimit", entry_point="sgd_gym.wrappers.option_budget:RejectOptionTimeLimit", kwargs={}
)
_FLAT = "sgd_gym.envs.scienceworld:ScienceWorldEnv"
_OPTIONS = "sgd_gym.envs.options:ScienceWorldOptionsEnv"
_OPTIONS_DISCRETE = "sgd_gym.envs.options_discrete:ScienceWorldOptionsDiscreteEnv"
_RAW = {"listing": "raw"}
_RAW_256 = {"listing": "raw", "max_subgoals": 256}  # v0's K

# id -> (entry point, TimeLimit, kwargs, additional wrappers).
# v1: info["valid_actions"] (and the options envs' executor and sub-goal candidates) hold the actions the game's
# parser accepts; ScienceWorldOptionsDiscrete offers up to 4,096 candidates. v0: ScienceWorld's raw list, which also
# names objects inside closed containers (rejected by the parser), and 256 candidates, kept so that runs made with v0
# replay exactly.
_ENVS = {
    "sgd_gym/ScienceWorld-v1": (_FLAT, 100, {}, ()),
    "sgd_gym/ScienceWorldOptions-v1": (_OPTIONS, None, {}, (_REJECT_OPTION_TIME_LIMIT,)),
    "sgd_gym/ScienceWorldOptionsDiscrete-v1": (_OPTIONS_DISCRETE, None, {}, (_REJECT_OPTION_TIME_LIMIT,)),
    "sgd_gym/ScienceWorld-v0": (_FLAT, 100, _RAW, ()),
    "sgd_gym/ScienceWorldOptions-v0": (_OPTIONS, None, _RAW, (_REJECT_OPTION_TIME_LIMIT,)),
    "sgd_gym/ScienceWorldOptionsDiscrete-v0": (_OPTIONS_DISCRETE, None, _RAW_256, (_REJECT_OPTION_TIME_LIMIT,)),
}
for _id, (_entry_point, _limit, _kwargs, _wrappers) in _ENVS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry_point, max_episode_steps=_limit, kwargs=dict(_kwargs), additional_wrappers=_wrappers)

__all__ = ["TASKS", "TASK_NAMES", "ScienceWorldEnv", "get_task", "__version__"]
