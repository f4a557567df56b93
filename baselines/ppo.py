"""RL baselines: sb3-contrib ``MaskablePPO`` over primitive actions (``ppo``) or over options (``ppo-options``).

``ppo`` learns on ``ValidActionDiscrete`` + ``BagOfWordsObservation``: one decision per primitive
action. ``ppo-options`` learns on ``DiscreteSubgoals`` (the options env with the scripted executor)
+ ``BagOfWordsObservation``: one decision per sub-goal. Both train on several tasks at once
(``MultiTask``), and both are evaluated as ordinary agents in the flat env under the protocol, so
their rows compare with every other agent at the same primitive step budget.

Both see the actions the game's parser accepts (``listing="accepted"``, as ``ScienceWorld-v1``), ``ppo`` in
the ``tiered`` order with K = ``DEFAULT_MAX_ACTIONS`` (every state measured fits, see
``sgd_gym.wrappers.discrete``). Checkpoints written before these settings existed have no ``listing`` or
``order`` in ``settings.json``: they load as ``listing="raw"`` and ``order="length"``, what they were trained
on, and the agent refuses an env that lists the other way (``info["listing"]``), since its indices would then
name other actions.

Observations are encoded by ``encoder``: ``"bow"`` (default; ``BagOfWordsObservation``, hashed n-grams) or
``"minilm"`` (``MiniLMObservation``: frozen all-MiniLM-L6-v2 sentence embeddings, cached by text; needs the
``minilm`` extra). Checkpoints written before ``encoder`` existed load as ``"bow"``, what they were trained on.

The policy is ``policy``: ``"mlp"`` (default; SB3's ``MlpPolicy``, one logit per index of the choice list) or
``"drrn"`` (``baselines.drrn.CandidateScoringPolicy`` over ``CandidateObservation``: each choice's hashed words scored
against the state, so what is learned of a choice follows it to any index; bag of words only). Its observations hold
K x ``candidate_dim`` floats (1 MB at the default K of 4,096), which the rollout buffer keeps for every step; a smaller
``max_choices`` makes them cheaper. Checkpoints written before ``policy`` existed load as ``"mlp"``.

A checkpoint folder holds ``model.zip`` (SB3), ``settings.json`` (what the agent needs to rebuild
its observations and action lists), ``progress.json`` (decisions, primitive steps, parameters) and
``train_summary.json`` (also the seed and hyper-parameters); ``tb/`` has the TensorBoard scalars
(``rollout/ep_rew_mean``, ``rollout/primitive_steps``, ``train/loss``...). Training saves atomically every
``save_every`` decisions and resumes from the last save. A decision of ``ppo-options`` is one option and
takes ``info["option_steps"]`` primitive steps; ``progress.json`` counts both, so budgets compare.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.agent import Agent
from sgd_gym.folders import ConfigMismatch, differences, writer
from sgd_gym.io import atomic_write_text

PPO_KINDS = ("ppo", "ppo-options")
NOOP_ACTION = "look around"
LEGACY_SETTINGS = {"listing": "raw", "order": "length"}  # what checkpoints without these keys were trained on
ADDED_SETTINGS = {"encoder": "bow", "policy": "mlp", "candidate_dim": 64}  # keys added later: what older checkpoints used
ENCODERS = ("bow", "minilm")
POLICIES = ("mlp", "drrn")


@dataclasses.dataclass
class PPOSettings:
    """What defines a PPO baseline: its kind, training tasks and the encodings of states and actions."""

    kind: str = "ppo"
    tasks: list[str] = dataclasses.field(default_factory=list)
    split: str = "train"
    max_steps: int = 100  # primitive steps per training episode (the protocol's budget)
    dim: int = 256  # hashed n-gram buckets per observation key
    ngram: int = 2
    keys: tuple[str, ...] = ("observation", "look", "inventory", "task")
    max_choices: int | None = None  # K: valid actions (ppo) or sub-goal candidates (ppo-options); None: the wrapper's default
    max_option_steps: int = 10
    listing: str = "accepted"  # "accepted": the actions the game's parser accepts; "raw": ScienceWorld's list
    order: str = "tiered"  # ValidActionDiscrete's order (ppo)
    encoder: str = "bow"  # "bow": BagOfWordsObservation (dim, ngram); "minilm": MiniLMObservation (384 per key)
    policy: str = "mlp"  # "mlp": SB3's MlpPolicy, a logit per index; "drrn": CandidateScoringPolicy, a logit per choice text
    candidate_dim: int = 64  # hashed n-gram buckets per choice text (policy "drrn")

    def __post_init__(self) -> None:
        from sgd_gym.wrappers.discrete import DEFAULT_MAX_ACTIONS, check_listing, order_actions
        from sgd_gym.wrappers.subgoals import DEFAULT_MAX_SUBGOALS

        if self.kind not in PPO_KINDS:
            raise ValueError(f"unknown PPO kind {self.kind!r}: expected one of {list(PPO_KINDS)}")
        self.keys = tuple(self.keys)
        check_listing(self.listing)
        order_actions([], self.order)  # validates the order
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown observation encoder {self.encoder!r}: expected one of {list(ENCODERS)}")
        if self.policy not in POLICIES:
            raise ValueError(f"unknown PPO policy {self.policy!r}: expected one of {list(POLICIES)}")
        if self.policy == "drrn" and self.encoder != "bow":
            raise ValueError(f"policy 'drrn' reads hashed bags of words (encoder 'bow'), got encoder {self.encoder!r}")
        if self.max_choices is None:
            self.max_choices = DEFAULT_MAX_ACTIONS if self.kind == "ppo" else DEFAULT_MAX_SUBGOALS


class CheckpointMissing(ValueError):
    """A PPO checkpoint folder is missing or unreadable."""


def make_env(settings: PPOSettings) -> Any:
    """The training env of ``settings``: multi-task, discrete masked actions, encoded observations."""
    import gymnasium as gym

    from sgd_gym.wrappers import BagOfWordsObservation, DiscreteSubgoals, MiniLMObservation, MultiTask, ValidActionDiscrete

    if settings.kind == "ppo":
        flat = gym.make("sgd_gym/ScienceWorld-v1", split=settings.split, max_episode_steps=settings.max_steps)
        env = ValidActionDiscrete(flat, max_actions=settings.max_choices, listing=settings.listing, order=settings.order)
    else:
        options = gym.make(
            "sgd_gym/ScienceWorldOptions-v1",
            split=settings.split,
            max_option_steps=settings.max_option_steps,
            max_primitive_steps=settings.max_steps,
            listing=settings.listing,
        )
        env = DiscreteSubgoals(options, max_subgoals=settings.max_choices, listing=settings.listing)
    env = MultiTask(env, settings.tasks)
    if settings.policy == "drrn":
        from sgd_gym.wrappers import CandidateObservation

        return CandidateObservation(env, settings.dim, settings.candidate_dim, settings.ngram, settings.keys)
    if settings.encoder == "minilm":
        return MiniLMObservation(env, keys=settings.keys)
    return BagOfWordsObservation(env, dim=settings.dim, ngram=settings.ngram, keys=settings.keys)


def observation_encoder(settings: PPOSettings) -> Any:
    """A function Dict observation -> the vector ``make_env(settings)`` gives (for an agent run without the wrappers)."""
    if settings.encoder == "minilm":
        from sgd_gym.wrappers import MiniLMEncoder

        encoder = MiniLMEncoder()
        return lambda observation: encoder.encode_observation(observation, settings.keys)
    from sgd_gym.wrappers import encode_observation

    return lambda observation: encode_observation(observation, settings.keys, settings.dim, settings.ngram)


def _callback(out: Path, total: int, save_every: int, deadline: float | None, progress: bool, primitive_steps: int | None) -> Any:
    """An SB3 callback: a tqdm bar, a wall-clock budget, the primitive steps taken and atomic saves every ``save_every`` steps."""
    from stable_baselines3.common.callbacks import BaseCallback

    from sgd_gym.progress import progress_bar

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = progress_bar(total, "train ppo", "step", disable=not progress,
                                    initial=min(self.model.num_timesteps, total))  # fmt: skip
            self.last_save = self.model.num_timesteps
            self.primitive_steps = primitive_steps

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            if self.primitive_steps is not None:
                self.primitive_steps += sum(int(info.get("option_steps", 1)) for info in self.locals["infos"])
                self.logger.record("rollout/primitive_steps", self.primitive_steps)
            if self.model.num_timesteps - self.last_save >= save_every:
                save_model(self.model, out, self.primitive_steps)
                self.last_save = self.model.num_timesteps
            return deadline is None or time.monotonic() < deadline

        def _on_training_end(self) -> None:
            self.bar.close()

    return Progress()


def save_model(model: Any, out: Path, primitive_steps: int | None = None) -> None:
    """Write ``model.zip`` and ``progress.json`` (decisions as ``timesteps``, primitive steps, parameters) atomically."""
    temporary = out / "model.tmp.zip"
    model.save(temporary)
    os.replace(temporary, out / "model.zip")
    progress = {"timesteps": int(model.num_timesteps), "primitive_steps": primitive_steps, "parameters": count_parameters(model)}
    atomic_write_text(out / "progress.json", json.dumps(progress))


def train_ppo(
    settings: PPOSettings,
    out: str | Path,
    timesteps: int = 20_000,
    max_minutes: float | None = None,
    envs: int = 2,
    seed: int = 0,
    learning_rate: float = 3e-4,
    n_steps: int = 128,
    batch_size: int = 64,
    ent_coef: float = 0.01,
    save_every: int = 2048,
    progress: bool = True,
    warm_start: int = 0,
    warm_start_epochs: int = 200,
) -> dict[str, Any]:
    """Train (or resume) a MaskablePPO baseline into ``out``; returns a summary of the run.

    With ``warm_start`` > 0 a new model is first cloned from the gold paths of that many train variations of each
    task (evenly spaced; ``baselines.warm_start``: as rules sub-goals for ``ppo-options``, as actions for ``ppo``)
    for ``warm_start_epochs`` passes; ``warm_start.json`` records the demonstrations and the fit, and
    ``tb/warm_start`` the loss and accuracy per pass. A resumed run was cloned (or not) when it began: asking
    for another ``warm_start`` than it recorded raises ``ConfigMismatch``.
    """
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    if timesteps < 1 or envs < 1:
        raise ValueError(f"timesteps and envs must be >= 1, got {timesteps!r}, {envs!r}")
    if not settings.tasks:
        raise ValueError("PPOSettings.tasks is empty: name at least one training task")
    out = Path(out)
    with writer(out):  # one writer at a time
        saved = out / "settings.json"
        before = {**ADDED_SETTINGS, **json.loads(saved.read_text())} if saved.exists() else None
        if before is not None and before != _settings_json(settings):
            lines = "\n  ".join(differences(before, _settings_json(settings)))
            raise ConfigMismatch(f"{out} holds a PPO run with other settings ({saved.name}):\n  {lines}\nUse another --out.")
        atomic_write_text(saved, json.dumps(_settings_json(settings), indent=1))
        vec_cls = SubprocVecEnv if envs > 1 else DummyVecEnv
        vec = make_vec_env(make_env, n_envs=envs, seed=seed, vec_env_cls=vec_cls, env_kwargs={"settings": settings})
        start = time.monotonic()
        try:
            if (out / "model.zip").exists():
                cloned = json.loads((out / "warm_start.json").read_text())["variations_per_task"] if (
                    out / "warm_start.json").exists() else 0  # fmt: skip
                if cloned != warm_start:
                    raise ConfigMismatch(f"{out} holds a PPO run warm-started from {cloned} variations per task, not "
                                         f"--warm-start {warm_start}: use another --out")  # fmt: skip
                model = MaskablePPO.load(out / "model.zip", env=vec, device="cpu")
            else:
                hyper = {"learning_rate": learning_rate, "n_steps": n_steps, "batch_size": batch_size, "ent_coef": ent_coef}
                tensorboard = str(out / "tb")
                model = MaskablePPO(
                    policy_class(settings), vec, seed=seed, verbose=0, device="cpu", tensorboard_log=tensorboard, **hyper
                )
                if warm_start:
                    clone_gold_paths(model, settings, out, warm_start, warm_start_epochs, seed)
                    save_model(model, out, 0)
            done = int(model.num_timesteps)
            primitive = _primitive_steps(out, done, settings)
            deadline = None if max_minutes is None else start + 60 * max_minutes
            if done < timesteps:
                callback = _callback(out, timesteps, save_every, deadline, progress, primitive)
                model.learn(timesteps - done, callback=callback, reset_num_timesteps=done == 0, tb_log_name="ppo")
                primitive = callback.primitive_steps
            save_model(model, out, primitive)
        finally:
            vec.close()
        hyper = {"seed": seed, "envs": envs, "learning_rate": learning_rate, "n_steps": n_steps, "batch_size": batch_size,
                 "ent_coef": ent_coef, "warm_start": warm_start}  # fmt: skip
        summary = {"kind": settings.kind, "encoder": settings.encoder, "timesteps": int(model.num_timesteps),
                   "primitive_steps": primitive, "seconds": time.monotonic() - start,
                   "parameters": count_parameters(model), **hyper, "out": str(out)}  # fmt: skip
        atomic_write_text(out / "train_summary.json", json.dumps(summary, indent=1))
    return summary


def clone_gold_paths(model: Any, settings: PPOSettings, out: Path, variations: int, epochs: int, seed: int) -> None:
    """Fit ``model`` to the gold paths of ``variations`` train variations per task (``baselines.warm_start``)."""
    from torch.utils.tensorboard import SummaryWriter

    from baselines.warm_start import Demonstrations, behaviour_clone, collect_demonstrations, spread_variations
    from sgd_gym.tasks import get_task

    action_space = "primitive" if settings.kind == "ppo" else "options"
    demos, env = Demonstrations(), make_env(settings)
    try:
        for task in settings.tasks:
            picked = spread_variations(get_task(task).split_size(settings.split), variations)
            demos.extend(collect_demonstrations(env, picked, action_space, seed=seed, gamma=model.gamma, task=task))
    finally:
        env.close()
    with SummaryWriter(str(out / "tb" / "warm_start")) as board:
        log = lambda epoch, stats: [board.add_scalar(f"warm_start/{k}", stats[k], epoch) for k in ("loss", "accuracy")]  # noqa: E731
        history = behaviour_clone(model, demos, epochs=epochs, seed=seed, log=log)
    record = {"variations_per_task": variations, "epochs": epochs, **demos.summary(), **history[-1]}
    atomic_write_text(out / "warm_start.json", json.dumps(record, indent=1))


def policy_class(settings: PPOSettings) -> Any:
    """What ``MaskablePPO`` is given as its policy: ``"MlpPolicy"`` or ``CandidateScoringPolicy`` (``drrn``)."""
    if settings.policy == "drrn":
        from baselines.drrn import CandidateScoringPolicy

        return CandidateScoringPolicy
    return "MlpPolicy"


def _primitive_steps(out: Path, decisions: int, settings: PPOSettings) -> int | None:
    """Primitive steps behind the ``decisions`` of a saved model (``None``: ``ppo-options`` saved before they were counted)."""
    if decisions == 0 or settings.kind == "ppo":
        return decisions
    try:
        steps = json.loads((out / "progress.json").read_text()).get("primitive_steps")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None
    return steps if isinstance(steps, int) else None


def _settings_json(settings: PPOSettings) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def count_parameters(model: Any) -> int:
    """Parameters of a PPO model's policy (actor and critic)."""
    return int(sum(p.numel() for p in model.policy.parameters()))


def read_ppo_settings(path: str | Path) -> PPOSettings:
    """The ``settings.json`` of a PPO checkpoint folder (its kind among them), without loading the model.

    Raises:
        CheckpointMissing: ``model.zip`` or ``settings.json`` is missing, or the settings are not valid.
    """
    path = Path(path)
    for name in ("model.zip", "settings.json"):
        if not (path / name).is_file():
            raise CheckpointMissing(f"{path / name}: no such file; is {path} a checkpoint of 'sgd train ppo|ppo-options'?")
    try:
        saved = json.loads((path / "settings.json").read_text())
        return PPOSettings(**{**LEGACY_SETTINGS, **saved}) if isinstance(saved, dict) else PPOSettings(**saved)
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise CheckpointMissing(f"{path / 'settings.json'}: not valid PPO settings ({error})") from None


def ppo_parameters(path: str | Path) -> int:
    """Parameters of a PPO checkpoint's policy: as recorded in ``progress.json`` when saved, else counted on the model.

    Raises:
        CheckpointMissing: as ``read_ppo_settings``, or a ``model.zip`` that is not a zip file.
    """
    import zipfile

    read_ppo_settings(path)
    if not zipfile.is_zipfile(Path(path) / "model.zip"):
        raise CheckpointMissing(f"{Path(path) / 'model.zip'}: not a zip file (a PPO model saved by SB3)")
    try:
        return int(json.loads((Path(path) / "progress.json").read_text())["parameters"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):  # saved before the count was recorded
        return count_parameters(load_ppo(path)[0])


def load_ppo(path: str | Path) -> tuple[Any, PPOSettings]:
    """Load ``model.zip`` and ``settings.json`` of a checkpoint folder (``CheckpointMissing`` if unusable)."""
    from sb3_contrib import MaskablePPO

    path = Path(path)
    settings = read_ppo_settings(path)
    try:
        model = MaskablePPO.load(path / "model.zip", device="cpu")
    except Exception as error:  # noqa: BLE001 - SB3 raises zipfile, pickle or torch errors for a bad file
        raise CheckpointMissing(f"{path / 'model.zip'}: cannot be loaded ({type(error).__name__}: {error})") from None
    return model, settings


class PPOAgent(Agent):
    """A trained ``ppo`` or ``ppo-options`` policy behind the common ``Agent`` interface.

    ``ppo``: each step, the valid actions in ``ValidActionDiscrete``'s order, the policy's masked
    argmax. ``ppo-options``: at each option boundary the policy picks among ``DiscreteSubgoals``'
    candidates, and the scripted executor carries the sub-goal out one primitive action per call
    (at most ``max_option_steps``), as in ``ScienceWorldOptions-v1``.

    ``listing`` (the checkpoint's, ``settings.listing``: ``"accepted"`` for checkpoints trained since v1, ``"raw"``
    for older ones) tells an evaluation harness which list ``info["valid_actions"]`` must hold; ``act`` raises
    ``ValueError`` when the env says it lists the other way.
    """

    listing = "accepted"  # the class's default; each agent takes its checkpoint's
    needs_valid_actions = True
    needs_gold_path = False

    def __init__(self, model: Any, settings: PPOSettings, deterministic: bool = True) -> None:
        from sgd_gym.executors import ScriptedExecutor

        self.model, self.settings, self.deterministic = model, settings, deterministic
        self.encode = observation_encoder(settings)
        self.listing = settings.listing
        self.executor = ScriptedExecutor()
        self.decisions = 0
        self.reset("")

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> PPOAgent:
        """Load a checkpoint folder of ``sgd train ppo|ppo-options``."""
        model, settings = load_ppo(path)
        return cls(model, settings, **kwargs)

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.executor.reset(task_description)
        self.subgoal: str | None = None
        self.option_steps = 0
        self.subgoals: list[str] = []
        self.ended: list[list[str]] = []  # [sub-goal, how] of the options that ended during the last act

    def _choose(self, obs: dict[str, str], choices: list[str]) -> str:
        choices = choices[: self.settings.max_choices]
        if not choices:
            return ""
        mask = np.zeros(self.settings.max_choices, dtype=bool)
        mask[: len(choices)] = True
        features = self.encode(obs)
        if self.settings.policy == "drrn":
            from sgd_gym.wrappers.candidates import encode_candidates

            size, width = self.settings.max_choices, self.settings.candidate_dim
            features = {"state": features, "candidates": encode_candidates(choices, size, width, self.settings.ngram)}
        index = self._pick(features, mask)
        self.decisions += 1
        return choices[index]

    def _pick(self, features: Any, mask: np.ndarray) -> int:
        """The index the model chooses for encoded ``features`` and the ``(K,)`` boolean ``mask``."""
        index, _ = self.model.predict(features, action_masks=mask, deterministic=self.deterministic)
        return int(index)

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        from sgd_gym.subgoals import END_SG
        from sgd_gym.wrappers.discrete import order_actions
        from sgd_gym.wrappers.subgoals import subgoal_candidates

        valid = info.get("valid_actions")
        if valid is None:
            raise KeyError("PPOAgent needs info['valid_actions']: create the env with valid_actions=True")
        listing = info.get("listing", self.listing)
        if listing != self.listing:
            raise ValueError(
                f"this {self.settings.kind} checkpoint was trained on the {self.listing!r} action listing but the env lists "
                f"{listing!r}: create it with listing={self.listing!r}"
            )
        if self.settings.kind == "ppo":
            return self._choose(obs, order_actions(valid, self.settings.order)) or NOOP_ACTION
        self.ended = []
        for _ in range(3):  # an option that ends at once is followed by another decision
            if self.subgoal is None or self.option_steps >= self.settings.max_option_steps:
                if self.subgoal is not None:
                    self.executor.abort()
                    self.ended.append([self.subgoal, "budget"])
                self.subgoal, self.option_steps = self._choose(obs, subgoal_candidates(valid, obs["look"])), 0
                self.subgoals.append(self.subgoal)
            action = self.executor.act(obs, info, self.subgoal)
            if action != END_SG:
                self.option_steps += 1
                return action
            self.ended.append([self.subgoal, "done"])
            self.subgoal = None
        return NOOP_ACTION

    def trace(self) -> dict[str, Any]:
        """What the last ``act`` did, for the episode record (``sgd_gym.records.StepTrace``; keys only when set):
        ``ppo-options`` gives the ``subgoal`` its action serves, ``opened`` on an option's first action and the
        options that ``ended`` before it ([sub-goal, ``done`` or ``budget``]); ``ppo`` gives nothing."""
        trace: dict[str, Any] = {}
        if self.subgoal is not None:
            trace["subgoal"] = self.subgoal
            if self.option_steps == 1:
                trace["opened"] = True
        if self.ended:
            trace["ended"] = [list(pair) for pair in self.ended]
        return trace
