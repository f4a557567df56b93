"""A behaviour-cloning warm start for MaskablePPO over masked choices: the expert's choices as PPO's first policy.

From a near-uniform start, PPO over these tasks rarely sees the reward of the right ``focus on`` (a wrong one ends
the episode failed; RESULTS.md, the RL study), so it learns the navigation credits and stops there. The standard
remedy is to start RL from imitation (Rajeswaran et al. 2018, DAPG; Vinyals et al. 2019, AlphaStar, supervised
pre-training then RL): here the gold paths of some train variations are replayed through the very env PPO trains
on, and the policy is fitted to the expert's choice in each state (cross-entropy over the unmasked choices) and the
value to the discounted return that followed, before PPO starts. Over sub-goals the expert's choices are the rules
annotator's segmentation of the gold path (the sub-goals this project distils its planner from, Hashemzadeh et al.
2024 §3.1); over primitive actions, the gold actions themselves (the flat imitation baseline's targets). Both
action spaces thus start from the same demonstrations.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from rapidfuzz import fuzz, utils

from agents.data.annotate import rules_segments
from sgd_gym.subgoals import WAIT_ACTION, Subgoal, SubgoalError, match_action, parse_subgoal
from sgd_gym.wrappers.subgoals import CANDIDATE_VERBS, STATIC_CANDIDATES

ACTION_SPACES = ("options", "primitive")
GROUNDING_CUTOFF = 80.0  # rapidfuzz token_set_ratio (0..100) an expert choice needs to stand for a listed one
_LOCATION = re.compile(r" (?:in|on) ")  # "thermometer in inventory", "metal pot on stove" (as agents.focus reads them)


@dataclasses.dataclass
class Demonstrations:
    """Expert decisions replayed in a masked-choice env, ready for ``behaviour_clone``.

    ``observations[i]`` is what the env returned before decision ``i`` (an array or a dict of arrays, as the
    observation space gives), ``masks[i]`` its ``(K,)`` action mask, ``actions[i]`` the index of the expert's
    choice, ``returns[i]`` the discounted sum of rewards (score points) from decision ``i`` to the end of its
    episode. ``scores`` holds each replayed episode's final score; ``grounded`` counts the expert choices that are not
    choices themselves and were replaced by the closest one (``ground_choice``), ``skipped`` names those with none
    close (neither recorded nor sent); ``primitive_steps`` counts the env steps all replays took.
    """

    observations: list[Any] = dataclasses.field(default_factory=list)
    masks: list[np.ndarray] = dataclasses.field(default_factory=list)
    actions: list[int] = dataclasses.field(default_factory=list)
    returns: list[float] = dataclasses.field(default_factory=list)
    scores: list[float] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    primitive_steps: int = 0
    grounded: int = 0

    def __len__(self) -> int:
        return len(self.actions)

    def extend(self, other: Demonstrations) -> None:
        """Append ``other``'s decisions and episodes (another task's replays)."""
        for field in ("observations", "masks", "actions", "returns", "scores", "skipped"):
            getattr(self, field).extend(getattr(other, field))
        self.primitive_steps += other.primitive_steps
        self.grounded += other.grounded

    def summary(self) -> dict[str, Any]:
        """Counts for a results file: decisions, episodes, primitive steps, mean final score, grounded and skipped."""
        return {"decisions": len(self), "episodes": len(self.scores), "primitive_steps": self.primitive_steps,
                "mean_score": float(np.mean(self.scores)) if self.scores else 0.0, "grounded": self.grounded,
                "skipped": list(self.skipped)}  # fmt: skip


def expert_choices(gold_path: Sequence[str], action_space: str) -> list[str]:
    """The expert's choices for a gold path, in the vocabulary of the discrete env's choices.

    ``primitive``: the gold actions. ``options``: the rules annotator's sub-goals (``rules_segments``); a
    sub-goal of a verb the candidates never offer (``measure``, ``heat``, ``watch``, ``wait(n)`` other than the
    static ``wait(1)`` / ``wait(10)``: ``sgd_gym.wrappers.subgoals.CANDIDATE_VERBS``) is split into its gold
    actions, each as the single-action sub-goal the candidates would list (``examine(x)``, ``use(t, x)``,
    ``wait(1)``), or as the bare action where none fits (the replay grounds it onto a close choice or skips it).

    Raises:
        ValueError: ``action_space`` is not ``options`` or ``primitive``.
    """
    if action_space not in ACTION_SPACES:
        raise ValueError(f"action_space must be one of {ACTION_SPACES}, got {action_space!r}")
    if action_space == "primitive":
        return list(gold_path)
    choices = []
    for segment in rules_segments(list(gold_path)):
        if parse_subgoal(segment["text"]).verb in CANDIDATE_VERBS or segment["text"] in STATIC_CANDIDATES:
            choices.append(segment["text"])
            continue
        for action in gold_path[segment["start"] : segment["end"]]:
            single = match_action(action, verbs=CANDIDATE_VERBS)
            choices.append("wait(1)" if action == WAIT_ACTION else str(single) if single else action)
    return choices


def ground_choice(target: str, choices: Sequence[str], action_space: str) -> str | None:
    """The choice that stands for the expert's ``target``: itself, else the closest choice of the same verb.

    ``sgd_gym.grounding.ground_action`` (one fuzzy score over whole texts, any verb) is not used: it maps ``move egg
    blue jay egg in inventory to red box`` onto ``move blue jay to inventory`` and an already-open door's ``open
    door to kitchen`` onto ``close door to kitchen``. Gold paths name objects otherwise than the game's list of valid
    actions, from which the choices come: by
    location (``move egg blue jay egg in inventory to red box`` where the list says ``blue jay``), by part
    (``battery anode`` for ``anode in battery``). Each argument of the target, its location dropped (``thermometer
    in inventory`` -> ``thermometer``), is compared with the same argument of each choice of the same verb
    (rapidfuzz ``token_set_ratio``, lower-cased, punctuation dropped); a choice's score is its worst argument's,
    ties go to the closest whole arguments (``cathode in red light bulb`` over ``cathode in blue light bulb``).
    The best choice is returned if its score reaches ``GROUNDING_CUTOFF``, else None (a gold ``open door to
    kitchen`` where the door is already open and the game lists no such action).
    """
    if target in choices:
        return target
    wanted = _parse(target, action_space)
    if wanted is None:
        return None
    best, best_key = None, (GROUNDING_CUTOFF, -1.0)
    for choice in choices:
        found = _parse(choice, action_space)
        if found is None or found.verb != wanted.verb or len(found.args) != len(wanted.args):
            continue
        pairs = list(zip(wanted.args, found.args))
        key = (min(fuzz.token_set_ratio(_LOCATION.split(a, maxsplit=1)[0], b, processor=utils.default_process) for a, b in pairs),
               sum(fuzz.ratio(a, b, processor=utils.default_process) for a, b in pairs))  # fmt: skip
        if key >= best_key and (best is None or key > best_key):
            best, best_key = choice, key
    return best


def _parse(choice: str, action_space: str) -> Subgoal | None:
    """A choice as a sub-goal: parsed (``options``) or read from the action (``primitive``); None if neither."""
    if action_space == "primitive":
        return match_action(choice)
    try:
        return parse_subgoal(choice)
    except SubgoalError:
        return None


def discounted_returns(rewards: Sequence[float], gamma: float) -> list[float]:
    """``G_t = r_t + gamma * G_{t+1}`` for every step of one episode (``G`` after the last step is 0)."""
    returns, running = [], 0.0
    for reward in reversed(rewards):
        running = float(reward) + gamma * running
        returns.append(running)
    return returns[::-1]


def spread_variations(n_split: int, count: int) -> list[int]:
    """``count`` variation indices evenly spaced over a split of ``n_split`` (its targets vary along it), both ends in."""
    count = min(count, n_split)
    return [round(i * (n_split - 1) / max(count - 1, 1)) for i in range(count)]


def collect_demonstrations(
    env: gym.Env,
    variations: Sequence[int],
    action_space: str,
    seed: int = 0,
    gamma: float = 0.99,
    task: str | None = None,
) -> Demonstrations:
    """Replay the gold path of each variation through ``env``, choice by choice, and record every decision.

    Args:
        env: a masked-choice env with one task, ``ValidActionDiscrete`` (``primitive``) or ``DiscreteSubgoals`` /
            ``ScienceWorldOptionsDiscrete`` (``options``), any observation wrapper on top; its reset must accept
            ``options={"variation": v, "gold_path": True}`` (sgd_gym's envs do).
        variations: variation indices of the env's split.
        action_space: ``options`` or ``primitive`` (how the gold path becomes choices, ``expert_choices``).
        seed: the reset seed of every episode.
        gamma: discount of the returns (PPO's ``gamma``).
        task: the task to reset to (a multi-task env, ``MultiTask``); None: the env's own.

    Returns:
        The decisions. An expert choice that is not among the state's choices is grounded onto the closest one of
        the same verb (``ground_choice``, counted in ``grounded``) or, with none close, skipped (``skipped``).

    Raises:
        ValueError: an unknown ``action_space``, or a state whose choices were cut at K (``dropped_actions`` /
            ``dropped_subgoals``) without the expert's choice among those offered.
    """
    demos = Demonstrations()
    for variation in variations:
        options = {"variation": int(variation), "gold_path": True, **({"task": task} if task else {})}
        obs, info = env.reset(seed=seed, options=options)
        rewards: list[float] = []
        for target in expert_choices(info["gold_path"], action_space):
            choices = list(env.get_wrapper_attr("choices"))
            cut = int(info.get("dropped_actions", 0) or info.get("dropped_subgoals", 0))
            if cut and target not in choices:  # grounding onto what is left would guess: refuse
                raise ValueError(f"variation {variation}: the state lists {len(choices) + cut} choices but K = "
                                 f"{len(choices)} are offered, and the expert's {target!r} is not among them: raise "
                                 "max_choices (--max-choices) so that the demonstrations see every choice")  # fmt: skip
            choice = ground_choice(target, choices, action_space)
            if choice is None:
                where = f"{task} variation {variation}" if task else f"variation {variation}"
                demos.skipped.append(f"{where}: {target!r} (no choice of the same verb is close)")
                continue
            demos.grounded += choice != target
            demos.observations.append(obs)
            demos.masks.append(np.asarray(env.get_wrapper_attr("action_masks")(), dtype=bool))
            demos.actions.append(choices.index(choice))
            obs, reward, terminated, truncated, info = env.step(choices.index(choice))
            demos.primitive_steps += int(info.get("option_steps", 1))
            rewards.append(float(reward))
            if terminated or truncated:
                break
        demos.returns.extend(discounted_returns(rewards, gamma))
        demos.scores.append(float(info["score"]))
    return demos


def _stack(observations: list[Any]) -> Any:
    if isinstance(observations[0], dict):
        return {key: np.stack([obs[key] for obs in observations]) for key in observations[0]}
    return np.stack(observations)


def behaviour_clone(
    model: Any,
    demos: Demonstrations,
    epochs: int = 200,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    seed: int = 0,
    log: Any = None,
) -> list[dict[str, float]]:
    """Fit ``model.policy`` (a ``MaskablePPO``'s) to the demonstrations: the expert's choice and its return.

    Loss per minibatch: ``-log pi(a* | s, mask) + value_coef * (V(s) - G)^2``, Adam at ``learning_rate`` (an
    optimizer of its own: PPO's keeps its state). Gradients are not clipped: with returns in score points the value
    term's gradient dominates the global norm, so one global clip (PPO's ``max_grad_norm``) would shrink the policy's
    steps with it; Adam scales each parameter's step by its own gradient's size, and the two heads share no weights
    in SB3's default policies nor in ``CandidateScoringPolicy``.

    Args:
        model: a ``sb3_contrib.MaskablePPO`` whose env gives the demonstrations' observations.
        demos: from ``collect_demonstrations``.
        epochs: passes over the demonstrations.
        batch_size: decisions per minibatch.
        learning_rate: Adam's step size.
        value_coef: weight of the value loss.
        seed: the shuffling seed.
        log: ``callable(epoch, stats)`` called after each epoch (TensorBoard, progress), or None.

    Returns:
        Per epoch: ``{"loss", "accuracy", "seconds"}``, accuracy the share of decisions whose most likely
        unmasked choice is the expert's.

    Raises:
        ValueError: no demonstrations, or epochs / batch_size below 1.
    """
    if not len(demos):
        raise ValueError("no demonstrations to clone: no expert choice was found among the listed choices")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    policy = model.policy
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    rng = np.random.default_rng(seed)
    masks, actions = np.stack(demos.masks), np.asarray(demos.actions)
    returns = torch.as_tensor(np.asarray(demos.returns, dtype=np.float32))
    history, start = [], time.monotonic()
    for epoch in range(epochs):
        policy.set_training_mode(True)
        losses = []
        for batch in np.array_split(rng.permutation(len(demos)), max(1, len(demos) // batch_size)):
            obs, _ = policy.obs_to_tensor(_stack([demos.observations[i] for i in batch]))
            values, log_prob, _ = policy.evaluate_actions(obs, torch.as_tensor(actions[batch]), action_masks=masks[batch])
            loss = -log_prob.mean() + value_coef * torch.nn.functional.mse_loss(values.flatten(), returns[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        stats = {"loss": float(np.mean(losses)), "accuracy": accuracy(model, demos), "seconds": time.monotonic() - start}
        history.append(stats)
        if log is not None:
            log(epoch, stats)
    policy.set_training_mode(False)
    return history


def accuracy(model: Any, demos: Demonstrations, batch_size: int = 256) -> float:
    """The share of demonstrated decisions where ``model``'s most likely unmasked choice is the expert's."""
    policy, hits = model.policy, 0
    policy.set_training_mode(False)
    masks = np.stack(demos.masks)
    with torch.no_grad():
        for start in range(0, len(demos), batch_size):
            rows = range(start, min(start + batch_size, len(demos)))
            obs, _ = policy.obs_to_tensor(_stack([demos.observations[i] for i in rows]))
            probs = policy.get_distribution(obs, action_masks=masks[start : rows.stop]).distribution.probs
            hits += int((probs.argmax(dim=1).numpy() == np.asarray(demos.actions[start : rows.stop])).sum())
    return hits / len(demos)


def clone_gold_paths(
    model: Any, env: gym.Env, task: str, count: int, action_space: str, epochs: int = 200, seed: int = 0, writer: Any = None
) -> dict[str, Any]:
    """Replay the gold paths of ``count`` train variations of ``task`` (evenly spaced) through ``env`` and fit ``model``
    to them (``collect_demonstrations`` then ``behaviour_clone``): the warm start of the RL examples.

    Args:
        model: a ``sb3_contrib.MaskablePPO`` whose policy reads ``env``'s observations.
        env: a masked-choice env of ``task`` on the train split (see ``collect_demonstrations``).
        task: the task's name.
        count: train variations replayed (all of the split if fewer).
        action_space: ``options`` or ``primitive``.
        epochs: passes of ``behaviour_clone``.
        seed: reset and shuffling seed.
        writer: a TensorBoard ``SummaryWriter`` for ``warm_start/loss`` and ``warm_start/accuracy`` per pass, or None.

    Returns:
        The record of a ``results.json``: ``Demonstrations.summary()`` with the ``variations``, ``epochs``, the final
        ``accuracy``, and the ``seconds`` of cloning and ``collect_seconds`` of replaying. A line describing it is printed.

    Raises:
        ValueError: as ``collect_demonstrations`` and ``behaviour_clone`` (no demonstrations, a cut state...).
    """
    from sgd_gym.tasks import get_task

    collecting = time.monotonic()
    variations = spread_variations(get_task(task).n_train, count)
    demos = collect_demonstrations(env, variations, action_space, seed=seed, gamma=model.gamma)
    collect_seconds = time.monotonic() - collecting
    log = None if writer is None else lambda epoch, stats: [writer.add_scalar(f"warm_start/{key}", stats[key], epoch)
                                                            for key in ("loss", "accuracy")]  # fmt: skip
    history = behaviour_clone(model, demos, epochs=epochs, seed=seed, log=log)
    record = {**demos.summary(), "variations": variations, "epochs": epochs, "accuracy": history[-1]["accuracy"],
              "seconds": round(history[-1]["seconds"], 1), "collect_seconds": round(collect_seconds, 1)}  # fmt: skip
    print(f"warm start: {len(demos)} expert decisions from {len(variations)} train variations (mean score "
          f"{record['mean_score']:.1f}, {record['grounded']} grounded, {len(demos.skipped)} skipped), accuracy "
          f"{record['accuracy']:.2f} after {epochs} epochs", flush=True)  # fmt: skip
    return record
