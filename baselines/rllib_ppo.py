"""RLlib PPO (new API stack) over masked choices: the env, the config, the checkpoint and the agent that plays it.

The env is ``baselines.ppo.make_env`` (the SB3 baseline's: ``ValidActionDiscrete`` over primitive actions or
``DiscreteSubgoals`` over options with the scripted executor, one or more tasks, ``CandidateObservation``) with
``ActionMaskObservation`` on top, registered with Ray Tune under ``RLLIB_ENV`` so that env runners on any node build
it; ``PPOSettings`` (``policy="drrn"``) define it as they define the SB3 baseline's. The module is
``baselines.rllib_drrn.CandidateScoringRLModule``. ``ppo_config`` sets PPO as SB3's ``MaskablePPO`` defaults do
(clip 0.2, 10 epochs, minibatch 64, GAE lambda 0.95, value coefficient 0.5, entropy 0.01, gradient norm 0.5, no KL
term, no value clipping), so the two libraries compare on the same network and hyper-parameters.

Who runs what: each env runner (a Ray actor, ``num_env_runners`` of them, anywhere on the cluster) holds its envs,
each with its own JVM, and samples with an inference copy of the module; the learner (here in the driver process,
``num_learners=0``) holds the trained module and the optimizer, and sends weights to the env runners after each
update. ``PrimitiveStepCounter`` logs, from the env runners, the primitive steps taken (an option counts the steps
its executor took), the training states cut at K, the final score of each episode, and how many sampled steps took
a masked choice (always 0: the module gives masked choices no probability; the tests assert it).

A checkpoint folder is RLlib's (``Algorithm.save_to_path``) with ``settings.json`` beside it (``PPOSettings``).
``sgd eval --agent rllib-ppo|rllib-ppo-options --checkpoint DIR`` plays it under the protocol (``RLlibPPOAgent``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from baselines.ppo import CheckpointMissing, PPOAgent, PPOSettings, make_env
from sgd_gym.io import atomic_write_text

RLLIB_ENV = "sgd_gym/rllib-ppo"  # the Tune registry name of env_creator
RLLIB_KINDS = {"ppo": "rllib-ppo", "ppo-options": "rllib-ppo-options"}  # checkpoint kind by PPOSettings.kind
SETTINGS_FILE = "settings.json"
RLLIB_METADATA = "rllib_checkpoint.json"  # written by RLlib into every checkpoint folder
MODULE_PATH = ("learner_group", "learner", "rl_module", "default_policy")  # the RLModule inside an Algorithm checkpoint


def env_creator(env_config: dict[str, Any]) -> Any:
    """The env of ``env_config["settings"]`` (a ``PPOSettings`` as a dict) with the action mask in its observations."""
    from sgd_gym.wrappers import ActionMaskObservation

    return ActionMaskObservation(make_env(PPOSettings(**env_config["settings"])))


def check_rllib_settings(settings: PPOSettings) -> None:
    """Raise ``ValueError`` unless ``settings`` give the observations ``CandidateScoringRLModule`` reads (``drrn``)."""
    if settings.policy != "drrn":
        raise ValueError(f"RLlib PPO scores choices by their text: PPOSettings(policy='drrn'), got policy {settings.policy!r}")


def primitive_steps_of(info: dict[str, Any]) -> int:
    """Primitive steps behind one env step: an option's ``option_steps``, 1 for a primitive action."""
    return int(info.get("option_steps", 1))


def _callback_class() -> type:
    """``PrimitiveStepCounter`` (defined on first use: RLlib is imported only by the code that trains)."""
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class PrimitiveStepCounter(RLlibCallback):
        """Env-runner metrics: lifetime sums of ``primitive_steps``, ``states_cut``, ``masked_choices_taken`` and
        ``steps_checked`` (every sampled step); ``episode_scores``, the final score of each episode that ended since
        the last iteration's results."""

        def on_episode_step(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
            info = episode.get_infos(-1)
            taken = episode.get_observations(-2)["action_mask"][episode.get_actions(-1)]
            counts = {"primitive_steps": primitive_steps_of(info), "steps_checked": 1, "masked_choices_taken": int(taken < 0.5),
                      "states_cut": int(bool(info.get("dropped_actions", 0) or info.get("dropped_subgoals", 0)))}  # fmt: skip
            for key, value in counts.items():
                metrics_logger.log_value(key, value, reduce="lifetime_sum")

        def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
            metrics_logger.log_value("episode_scores", float(episode.get_infos(-1)["score"]), reduce="item_series")

    return PrimitiveStepCounter


def ppo_config(
    settings: PPOSettings,
    num_env_runners: int = 2,
    seed: int = 0,
    train_batch_size: int = 256,
    minibatch_size: int = 64,
    learning_rate: float = 3e-4,
    entropy_coeff: float = 0.01,
    hidden: tuple[int, ...] = (64, 64),
) -> Any:
    """RLlib's ``PPOConfig`` for ``settings`` with ``CandidateScoringRLModule`` (registers ``RLLIB_ENV`` with Tune).

    Args:
        settings: the env (``policy="drrn"``).
        num_env_runners: env runners (Ray actors, one env and JVM each); 0 samples in the driver.
        seed: RLlib's seed (each env runner seeds its env from it and its index) and the module's initialisation.
        train_batch_size: decisions sampled per PPO update, over all env runners (SB3: ``n_steps`` x envs).
        minibatch_size: decisions per gradient step (SB3's ``batch_size``).
        learning_rate: Adam's step size.
        entropy_coeff: weight of the entropy bonus (SB3's ``ent_coef``).
        hidden: widths of the state, choice and value networks.

    Returns:
        The config; ``config.build_algo()`` makes the ``Algorithm`` (Ray must be initialised first, or RLlib starts a
        local Ray).

    Raises:
        ValueError: ``settings.policy`` is not ``drrn``, or a size below 1.
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    from baselines.rllib_drrn import CandidateScoringRLModule

    check_rllib_settings(settings)
    if min(train_batch_size, minibatch_size) < 1 or num_env_runners < 0:
        raise ValueError(f"train_batch_size and minibatch_size must be >= 1 and num_env_runners >= 0, got "
                         f"{train_batch_size}, {minibatch_size}, {num_env_runners}")  # fmt: skip
    register_env(RLLIB_ENV, env_creator)
    return (
        PPOConfig()
        .environment(RLLIB_ENV, env_config={"settings": dataclasses.asdict(settings)})
        .framework("torch")
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1, num_cpus_per_env_runner=1)
        .learners(num_learners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=CandidateScoringRLModule, model_config={"hidden": list(hidden)}))
        .training(
            lr=learning_rate,
            gamma=0.99,
            lambda_=0.95,
            clip_param=0.2,
            num_epochs=10,
            vf_loss_coeff=0.5,
            entropy_coeff=entropy_coeff,
            grad_clip=0.5,
            grad_clip_by="global_norm",
            use_kl_loss=False,
            vf_clip_param=float("inf"),
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=min(minibatch_size, train_batch_size),
        )  # fmt: skip
        .callbacks(_callback_class())
        .debugging(seed=seed)
    )


def start_from_sb3_policy(algo: Any, policy: Any) -> None:
    """Copy a ``CandidateScoringPolicy``'s weights (e.g. behaviour-cloned by ``baselines.warm_start``) into the
    learner's module, then to every env runner, so that PPO starts from them (the optimizer starts afresh).

    Raises:
        RuntimeError: the policy's sizes differ from the module's (torch names the tensors).
    """
    from ray.rllib.core import DEFAULT_MODULE_ID

    def load(learner: Any) -> dict[str, Any]:
        learner.module[DEFAULT_MODULE_ID].load_sb3_policy(policy)
        return learner.module[DEFAULT_MODULE_ID].get_state()

    (state,) = [result.get() for result in algo.learner_group.foreach_learner(load)]
    # Set directly and waited for: sync_weights skips env runners whose weights' sequence number is already current.
    algo.env_runner_group.foreach_env_runner(lambda runner: runner.module.set_state(state), local_env_runner=True)


def save_checkpoint(algo: Any, settings: PPOSettings, out: str | Path) -> Path:
    """``algo.save_to_path(out)`` and ``settings.json`` beside it: a folder ``RLlibPPOAgent`` and ``sgd eval`` read."""
    out = Path(out)
    algo.save_to_path(str(out.resolve()))
    atomic_write_text(out / SETTINGS_FILE, json.dumps(dataclasses.asdict(settings), indent=1))
    return out


def is_rllib_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a folder RLlib wrote a checkpoint into."""
    return (Path(path) / RLLIB_METADATA).is_file()


def read_rllib_settings(path: str | Path) -> PPOSettings:
    """The ``PPOSettings`` of an RLlib PPO checkpoint folder, without loading the module.

    Raises:
        CheckpointMissing: not an RLlib checkpoint, no ``settings.json``, no module, or settings that are not valid.
    """
    path = Path(path)
    if not is_rllib_checkpoint(path):
        raise CheckpointMissing(f"{path}: no {RLLIB_METADATA}; is it a checkpoint of examples/rllib_ppo.py?")
    if not path.joinpath(*MODULE_PATH).is_dir():
        raise CheckpointMissing(f"{path}: RLlib checkpoint without its module ({'/'.join(MODULE_PATH)})")
    try:
        settings = PPOSettings(**json.loads((path / SETTINGS_FILE).read_text()))
        check_rllib_settings(settings)
    except OSError:
        raise CheckpointMissing(f"{path / SETTINGS_FILE}: no such file (baselines.rllib_ppo.save_checkpoint writes it)") from None
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise CheckpointMissing(f"{path / SETTINGS_FILE}: not valid RLlib PPO settings ({error})") from None
    return settings


def load_rllib_module(path: str | Path) -> tuple[Any, PPOSettings]:
    """The trained ``CandidateScoringRLModule`` of a checkpoint folder (on CPU, in eval mode) and its settings.

    Raises:
        CheckpointMissing: as ``read_rllib_settings``, or a module RLlib cannot restore.
    """
    from ray.rllib.core.rl_module.rl_module import RLModule

    settings = read_rllib_settings(path)
    try:
        module = RLModule.from_checkpoint(str(Path(path).joinpath(*MODULE_PATH).resolve()))
    except Exception as error:  # noqa: BLE001 - RLlib raises pickle, torch or its own errors for a bad folder
        raise CheckpointMissing(f"{path}: the RLlib module cannot be restored ({type(error).__name__}: {error})") from None
    module.eval()
    return module, settings


def rllib_kind(path: str | Path) -> tuple[str, int]:
    """(kind, parameters) of an RLlib PPO checkpoint: ``rllib-ppo`` (primitive actions) or ``rllib-ppo-options``."""
    module, settings = load_rllib_module(path)
    return RLLIB_KINDS[settings.kind], int(sum(p.numel() for p in module.parameters()))


class RLlibPPOAgent(PPOAgent):
    """A checkpoint of RLlib PPO behind the common ``Agent`` interface: ``PPOAgent``'s play (the choices listed as the
    training env listed them, the scripted executor under options, the checkpoint's listing enforced), each choice
    the module's greedy unmasked one."""

    listing = "accepted"  # stated, as the agent contract asks; each agent takes its checkpoint's (PPOAgent.__init__)

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> RLlibPPOAgent:
        """Load a checkpoint folder of ``examples/rllib_ppo.py`` (``CheckpointMissing`` if it is not one)."""
        module, settings = load_rllib_module(path)
        return cls(module, settings, **kwargs)

    def _pick(self, features: dict[str, np.ndarray], mask: np.ndarray) -> int:
        batch = {"action_mask": mask[None].astype(np.float32), "observations": {k: v[None] for k, v in features.items()}}
        return int(self.model.greedy_actions(batch)[0])
