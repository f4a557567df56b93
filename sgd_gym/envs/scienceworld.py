"""``sgd_gym/ScienceWorld-v1`` (and ``-v0``): ScienceWorld as a fast, Gymnasium-compliant text environment."""

from __future__ import annotations

import re
import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from sgd_gym.backend import BackendError, ScienceWorldBackend, answer_is_carried_out
from sgd_gym.tasks import TaskInfo, check_simplifications, check_split, get_task

CHARSET = string.printable  # letters, digits, punctuation, space, \t \n \r \x0b \x0c
MAX_TEXT_LENGTH = 32768
MAX_ACTION_LENGTH = 256
OBSERVATION_KEYS = ("observation", "look", "inventory", "task")
LISTINGS = ("accepted", "raw")
UNKNOWN_ACTION = "No known action matches that input."
AMBIGUITY_PROMPT = "Ambiguous request"  # the parser matched several objects and asks which one
META_COMMANDS = ("help", "objects", "task")  # answered before the parser sees them (PythonInterface.step)
_PROMPT_CHOICE = re.compile(r"^\d+:\t", re.MULTILINE)  # one numbered line per reading, "0:\tpour red paint (...)"
_OUTSIDE_CHARSET = re.compile(r"[^\t\n\r\x0b\x0c\x20-\x7e]")


def prompt_choices(reply: str) -> int:
    """The number of readings an ambiguity prompt offers (0 when ``reply`` is not one)."""
    return len(_PROMPT_CHOICE.findall(reply)) if reply.startswith(AMBIGUITY_PROMPT) else 0


def to_text_space(text: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Make game text fit the Text space: characters outside the charset become ``?``, long text is cut."""
    if not text.isascii() or _OUTSIDE_CHARSET.search(text):
        text = _OUTSIDE_CHARSET.sub("?", text)
    return text[:max_length]


def text_space(max_length: int = MAX_TEXT_LENGTH) -> spaces.Text:
    """A Text space over printable ASCII (with whitespace), lengths 0..max_length."""
    return spaces.Text(max_length=max_length, min_length=0, charset=CHARSET)


class ScienceWorldEnv(gym.Env[dict, str]):
    """## Description
    ScienceWorld (Wang et al., 2022): 30 elementary-science tasks in a text world (boil water,
    grow a plant, build a circuit, ...). One episode is one *variation* of one task.

    ## Action space
    ``Text(max_length=256)`` over printable ASCII: one primitive command, e.g. ``open door to kitchen``.
    An action the game does not understand is not an error: the observation is the game's own
    message, the reward is 0 and ``info["valid"]`` is False. A non-string action raises
    ``TypeError``; an action longer than 256 characters raises ``ValueError``; the env stays usable.

    ``info["valid"]`` is False whenever the game did not carry out the command as given: "No known
    action matches that input.", and the *ambiguity prompt*: when a name fits several objects
    (``pour red paint in wood cup`` with three wood cups in view) the game carries nothing out (no
    move passes) and asks "Ambiguous request: Please enter the number for the action you intended",
    listing the readings as ``0:\t...``, ``1:\t...``; ``info["awaiting_choice"]`` is True and the valid
    actions are ``0``, ``1``, .... Answer with one of those numbers: the next step carries that reading
    out, as ScienceWorld's own gold paths do (they answer ``0``). Any other answer cancels the prompt
    and is dropped, with ``info["valid"]`` False (the game replies "Unknown action. Type 'help' ...",
    and the world still takes a turn); ``help``, ``objects`` and ``task`` are answered without
    touching the prompt.

    ## Observation space
    ``Dict(observation=Text, look=Text, inventory=Text, task=Text)``: the game's reply to the last
    action, the room description, the inventory and the task description. Text spaces hold printable
    ASCII with whitespace, lengths 0..32768; any other character is shown as ``?``.

    ## Rewards
    The change of score (0..100) since the last step; the rewards of an episode sum to its final
    score minus its score at reset (some variations start with a few points, shown in ``info["score"]``).

    ## Episode end
    ``terminated``: the task is completed (score 100) or failed (the game gives a negative score:
    the score is reported as 0 and ``info["failed"]`` is True). ``truncated``: the step limit
    (``max_episode_steps``, default 100, Gymnasium's ``TimeLimit``). ScienceWorld's own step
    limit never ends an episode.

    ## Info
    ``score``, ``moves``, ``valid``, ``awaiting_choice``, ``failed``, ``task_name``, ``task_id``,
    ``split``, ``variation`` (index inside the split), ``variation_id`` (ScienceWorld's number),
    ``simplifications``; with ``valid_actions=True`` also ``valid_actions`` (the list ``listing``
    names) and ``listing``; after ``reset(options={"gold_path": True})`` also ``gold_path``.

    ## Valid actions
    ``valid_actions()`` is ScienceWorld's own list (``get_valid_action_object_combinations``): in a
    crowded room about half of it is rejected by the game's parser, because the list walks into
    closed containers and the parser does not (see ``sgd_gym.backend``). ``accepted_actions()`` is
    that list without the actions the parser rejects (same order, a few ms more). ``listing``
    chooses which of the two ``info["valid_actions"]`` carries: ``"accepted"`` (the default; id
    ``ScienceWorld-v1``) or ``"raw"`` (``ScienceWorld-v0``).

    ## Arguments
    ``task`` (name or id, e.g. ``"boil"`` or ``"1-1"``), ``split`` (``train``/``dev``/``test``),
    ``variation`` (index inside the split, or ``None`` to draw one with the reset seed),
    ``simplifications`` (``"easy"`` by default), ``valid_actions`` (add them to ``info`` each step),
    ``listing`` (``"accepted"`` or ``"raw"``, see above),
    ``render_mode`` (``"ansi"`` or ``"human"``), ``jvm_heap`` (the JVM's ``-Xmx``), ``deterministic``
    (default True: every load of a variation is identical whatever the JVM ran before, see
    ``sgd_gym.backend``; False is ~1.5x faster per step but a room may list its objects in another
    order from one episode to the next).

    ``reset(seed, options)`` accepts ``options={"task": ..., "variation": ..., "gold_path": bool}``
    for that episode.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        task: str = "boil",
        split: str = "train",
        variation: int | None = None,
        simplifications: str = "easy",
        valid_actions: bool = False,
        listing: str = "accepted",
        render_mode: str | None = None,
        jvm_heap: str | None = None,
        deterministic: bool = True,
    ) -> None:
        if listing not in LISTINGS:
            raise ValueError(f"unknown listing {listing!r}: expected one of {list(LISTINGS)}")
        self.listing = listing
        self.task_info: TaskInfo = get_task(task)
        self.split = check_split(split)
        if variation is not None:
            self.task_info.variation_id(self.split, variation)  # validates the range
        self.variation = variation
        self.simplifications = check_simplifications(simplifications)
        self.include_valid_actions = bool(valid_actions)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}: expected one of {self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.action_space = text_space(MAX_ACTION_LENGTH)
        self.observation_space = spaces.Dict({key: text_space() for key in OBSERVATION_KEYS})
        self.backend = ScienceWorldBackend(heap=jvm_heap, deterministic=deterministic)
        self._episode: dict[str, Any] | None = None
        self._last_observation = ""

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode; same seed -> same variation and same first observation."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"task", "variation", "gold_path"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}: expected 'task', 'variation', 'gold_path'")
        info = get_task(options["task"]) if "task" in options else self.task_info
        variation = options.get("variation", self.variation)
        if variation is None:
            variation = int(self.np_random.integers(info.split_size(self.split)))
        variation_id = info.variation_id(self.split, variation)
        want_gold = bool(options.get("gold_path", False))

        for attempt in range(2):  # a dead JVM is restarted once
            try:
                self.backend.start()
                self.backend.load(info.name, variation_id, self.simplifications, gold_path=want_gold)
                gold = self.backend.gold_actions() if want_gold else None
                first = self.backend.step("look around")
                description = self.backend.task_description()
                break
            except BackendError:
                self.backend.close()
                if attempt:
                    raise
        self._episode = {
            "task": info,
            "variation": variation,
            "variation_id": variation_id,
            "description": description,
            "actions": [],
            "score": 0 if first.score < 0 else min(first.score, 100),
            "gold_path": gold,
            "choices": 0,  # readings of a pending ambiguity prompt (0: none)
        }
        obs = self._observation(first.observation)
        step_info = self._info(moves=first.moves, valid=True, failed=False)
        if gold is not None:
            step_info["gold_path"] = list(gold)
        return obs, step_info

    def step(self, action: str) -> tuple[dict, float, bool, bool, dict]:
        """Send one primitive command to the game."""
        if not isinstance(action, str):
            raise TypeError(
                f"action must be a str (a command such as 'open door to kitchen'), got {type(action).__name__}: {action!r}"
            )
        if len(action) > MAX_ACTION_LENGTH:
            raise ValueError(
                f"action is {len(action)} characters long ({action[:40]!r}...): at most {MAX_ACTION_LENGTH} are allowed"
            )
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        result = self.backend.step(action)
        episode = self._episode
        episode["actions"].append(action)
        failed = result.score < 0
        score = 0 if failed else min(max(result.score, 0), 100)
        reward = float(score - episode["score"])
        episode["score"] = score
        terminated = failed or bool(result.completed) or score >= 100
        valid = self._carried_out(action, result.observation)
        obs = self._observation(result.observation)
        info = self._info(moves=result.moves, valid=valid, failed=failed)
        return obs, reward, terminated, False, info

    def _carried_out(self, action: str, reply: str) -> bool:
        """Whether the game carried ``action`` out as given; tracks a pending ambiguity prompt."""
        episode = self._episode
        pending = episode["choices"]
        if pending and action.strip().lower() in META_COMMANDS:
            return True  # answered before the parser: the prompt still waits
        if reply.startswith(AMBIGUITY_PROMPT):
            episode["choices"] = prompt_choices(reply)
            return False
        episode["choices"] = 0
        if pending:
            return answer_is_carried_out(action, pending)
        return not reply.startswith(UNKNOWN_ACTION)

    def _observation(self, observation: str) -> dict[str, str]:
        self._last_observation = observation
        if self.render_mode == "human":
            print(observation)
        return {
            "observation": to_text_space(observation),
            "look": to_text_space(self.backend.look()),
            "inventory": to_text_space(self.backend.inventory()),
            "task": to_text_space(self._episode["description"]),
        }

    def _info(self, moves: int, valid: bool, failed: bool) -> dict[str, Any]:
        episode = self._episode
        info = {
            "score": episode["score"],
            "moves": moves,
            "valid": valid,
            "awaiting_choice": episode["choices"] > 0,
            "failed": failed,
            "task_name": episode["task"].name,
            "task_id": episode["task"].task_id,
            "split": self.split,
            "variation": episode["variation"],
            "variation_id": episode["variation_id"],
            "simplifications": self.simplifications,
        }
        if self.include_valid_actions:
            info["valid_actions"] = self.accepted_actions() if self.listing == "accepted" else self.valid_actions()
            info["listing"] = self.listing
        return info

    # ------------------------------------------------------------------ extras
    def valid_actions(self) -> list[str]:
        """ScienceWorld's own valid-action list in the current state (one JVM round trip), sorted.

        It includes actions the game's parser rejects; see ``accepted_actions``.
        """
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() before valid_actions()")
        return self.backend.valid_actions()

    def accepted_actions(self) -> list[str]:
        """``valid_actions()`` without the actions the game's parser rejects (same order).

        Dropped: actions naming an object the parser cannot reach (inside a closed container; see
        ``sgd_gym.backend``). Kept: actions whose name fits several objects (the game asks which one,
        see the class docstring). While a prompt waits for an answer the list is ``0``, ``1``, ....
        """
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() before accepted_actions()")
        return self.backend.accepted_actions()

    def gold_path(self) -> list[str]:
        """ScienceWorld's gold action sequence for the current variation.

        Free after ``reset(options={"gold_path": True})``; otherwise the variation is reloaded with
        gold-path generation and the episode's actions are replayed, leaving the same state.
        """
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() before gold_path()")
        episode = self._episode
        if episode["gold_path"] is None:
            self.backend.load(episode["task"].name, episode["variation_id"], self.simplifications, gold_path=True)
            episode["gold_path"] = self.backend.gold_actions()
            self.backend.step("look around")
            for action in episode["actions"]:
                self.backend.step(action)
        return list(episode["gold_path"])

    @property
    def task_description(self) -> str:
        """The current episode's task description."""
        if self._episode is None:
            raise gym.error.ResetNeeded("call reset() first")
        return self._episode["description"]

    def render(self) -> str | None:
        """``ansi``: the last observation text; ``human``: None (each step already printed it)."""
        return self._last_observation if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Stop the JVM; idempotent."""
        self.backend.close()
        self._episode = None
