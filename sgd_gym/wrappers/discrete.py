"""``ValidActionDiscrete``: the current valid actions as a masked ``Discrete(K)`` action space.

ScienceWorld lists 20 to 4,000 actions per state, most of them two-object combinations (``move X to Y``,
``pour X into Y``, ``connect X to Y``) that grow with the square of the objects in view. A learner with
``Discrete(K)`` sees the first K of them, so the order decides which actions exist for it. Measured over
the gold paths of the 30 tasks (``python -m benchmarks.measure.action_coverage``, benchmarks/RESULTS.md), the
accepted listing of a state (``ScienceWorldEnv.accepted_actions``) holds at most 3,718 actions; the default
K, 4,096, keeps every action of every state measured, and a state that lists more is never cut silently:
``info["dropped_actions"]`` counts what did not fit and a warning says so once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

NOOP_ACTION = "look around"
DEFAULT_MAX_ACTIONS = 4096
ORDERS = ("tiered", "length")
LISTINGS = ("accepted", "raw")

# Commands that name no object, and the verbs of ScienceWorld's two-object templates (``move X to Y``,
# ``pour X into Y``, ``dunk X into Y``, ``connect X to Y``, ``use X on Y``: the actions/*.scala listings).
_PLAIN_COMMANDS = frozenset({"look around", "inventory", "task", "wait", "wait1"})
_TWO_OBJECT_VERBS = ("move ", "pour ", "dunk ", "connect ", "use ")


def action_order(action: str) -> tuple[int, str]:
    """Sort key of the ``length`` order (sgd-gym before v1): fewer words first, then alphabetical."""
    return (action.count(" "), action)


def action_tier(action: str) -> int:
    """The tier of ``action`` in the ``tiered`` order.

    0: commands without objects (``look around``, ``inventory``, ``wait1``, the numbered answers of an
    ambiguity prompt); 1: ``focus on X`` (what most tasks are scored on); 2: other one-object actions
    (``go to``, ``open``, ``pick up``, ``activate``, ``look at``, ...); 3: two-object actions (``move X to Y``,
    ``pour X into Y``, ``connect X to Y``, ``use X on Y``); 4: ``reset task`` (starts the task over).
    """
    if action in _PLAIN_COMMANDS or action.isdigit():
        return 0
    if action == "reset task":
        return 4
    if action.startswith("focus on "):
        return 1
    return 3 if action.startswith(_TWO_OBJECT_VERBS) else 2


def order_actions(actions: Sequence[str], order: str = "tiered") -> list[str]:
    """``actions`` in a learner's order.

    ``tiered`` (default): by ``action_tier``, then fewer words, then alphabetical, so that the few
    commands, focus and one-object actions (a few hundred at most) come before the two-object
    combinations. ``length``: fewer words, then alphabetical (sgd-gym's order before v1, kept to
    replay old checkpoints). Both are functions of the list alone, so any process rebuilds the same
    indices from ``info["valid_actions"]``.

    Raises:
        ValueError: unknown ``order``.
    """
    if order == "tiered":
        return sorted(actions, key=lambda action: (action_tier(action), *action_order(action)))
    if order == "length":
        return sorted(actions, key=action_order)
    raise ValueError(f"unknown action order {order!r}: expected one of {list(ORDERS)}")


def integer_index(action: Any, what: str = "action") -> int:
    """``action`` as a Python int, if it is an integer index (``int`` or a numpy integer scalar / 0-d array).

    Follows ``gymnasium.spaces.Discrete.contains``, except that booleans are refused too.

    Raises:
        TypeError: anything else (``2.5``, ``"3"``, ``True``, an array with a shape), instead of guessing an index.
    """
    if isinstance(action, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer index, got a bool: {action!r}")
    if isinstance(action, (int, np.integer)):
        return int(action)
    if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        return int(action)
    raise TypeError(
        f"{what} must be an integer index (int or numpy integer), got {type(action).__name__}: {action!r}; "
        "a Discrete space takes no floats, strings or arrays with a shape"
    )


class MaskedChoices:
    """Index ``i`` means the ``i``-th of the current choices; K slots, masks, and a counted cut.

    Shared by the masked ``Discrete(K)`` wrappers and envs. A state with more than K choices keeps the
    first K: ``dropped`` counts the rest, and the first cut is reported once with a warning.

    Args:
        size: K.
        owner: the name shown in the warning.
        unit: what a choice is, in the warning (``"valid actions"``, ``"sub-goal candidates"``).
        size_argument: the argument that sets K, named in the warning.
    """

    def __init__(self, size: int, owner: str, unit: str, size_argument: str) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{size_argument} must be an integer >= 1, got {size!r}")
        self.size = int(size)
        self.owner, self.unit, self.size_argument = owner, unit, size_argument
        self.choices: list[str] = []
        self.dropped = 0
        self.warned = False

    def update(self, ordered: list[str]) -> None:
        """Offer the first K of ``ordered``; count (and the first time, warn about) the rest."""
        self.choices = list(ordered[: self.size])
        self.dropped = max(len(ordered) - self.size, 0)
        if self.dropped and not self.warned:
            self.warned = True
            warnings.warn(
                f"{self.owner}: a state lists {len(ordered)} {self.unit} but Discrete({self.size}) holds "
                f"{self.size}: {self.dropped} are not offered (counted in info; raise {self.size_argument} to keep "
                "them). Warned once.",
                stacklevel=3,
            )

    def mask(self) -> np.ndarray:
        """Boolean mask of length K: True where the index maps to a choice."""
        mask = np.zeros(self.size, dtype=bool)
        mask[: len(self.choices)] = True
        return mask

    def pick(self, action: Any) -> str | None:
        """The choice at index ``action``, or None for a masked or out-of-range index.

        Raises:
            TypeError: ``action`` is not an integer index (see ``integer_index``).
        """
        index = integer_index(action)
        return self.choices[index] if 0 <= index < len(self.choices) else None


class MaskedChoiceWrapper(gym.Wrapper):
    """Base of the masked ``Discrete(K)`` wrappers: index ``i`` is the ``i``-th of the current choices.

    Subclasses list the choices of a state in order (``_list_choices``); slots past the list are
    masked (``action_masks()``, sb3-contrib's MaskablePPO protocol); a masked or out-of-range index
    sends ``noop`` and sets ``info["valid"] = False``; ``info[info_key]`` is the text sent and
    ``info[dropped_key]`` the number of choices of the new state that did not fit in K. A
    non-integer action raises ``TypeError``.
    """

    noop = ""
    info_key = "action"
    dropped_key = "dropped_actions"
    unit = "choices"
    size_argument = "size"

    def __init__(self, env: gym.Env, size: int) -> None:
        super().__init__(env)
        self._choices = MaskedChoices(size, type(self).__name__, self.unit, self.size_argument)
        self.size = self._choices.size
        self.action_space = spaces.Discrete(self.size)

    @property
    def choices(self) -> list[str]:
        """The current choices, in index order."""
        return self._choices.choices

    def _list_choices(self, obs: Any) -> list[str]:
        raise NotImplementedError

    def action_masks(self) -> np.ndarray:
        """Boolean mask of length K: True where the index maps to a choice."""
        return self._choices.mask()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the inner env and list the choices."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._choices.update(self._list_choices(obs))
        return obs, {**info, self.dropped_key: self._choices.dropped}

    def step(self, action: int):
        """Send the choice at index ``action``; masked or out-of-range indices are no-ops.

        Raises:
            TypeError: ``action`` is not an integer index (``2.5``, ``"3"``, ``True``).
        """
        text = self._choices.pick(action)
        obs, reward, terminated, truncated, info = self.env.step(self.noop if text is None else text)
        info = {**info, self.info_key: self.noop if text is None else text}
        if text is None:
            info["valid"] = False
        self._choices.update(self._list_choices(obs))
        info[self.dropped_key] = self._choices.dropped
        return obs, reward, terminated, truncated, info


def require_masked_choices(wrapper: str, env: gym.Env, attribute: str) -> None:
    """Check that ``env`` offers masked choices: a ``Discrete`` action space and ``attribute`` on some wrapper inside.

    Args:
        wrapper: the name of the wrapper asking, shown in the errors.
        env: the env it wraps.
        attribute: what it reads from the masked-choice wrapper (``"choices"``, ``"action_masks"``).

    Raises:
        TypeError: no ``Discrete`` action space, or no ``attribute`` (naming the wrappers that have it).
    """
    if not isinstance(env.action_space, spaces.Discrete):
        raise TypeError(f"{wrapper} needs a Discrete action space of choices, got {env.action_space}")
    try:
        env.get_wrapper_attr(attribute)
    except AttributeError:
        raise TypeError(
            f"{wrapper} needs a masked-choice env inside (ValidActionDiscrete, DiscreteSubgoals or "
            f"ScienceWorldOptionsDiscrete-v1): {env} has no {attribute!r}"
        ) from None


def check_listing(listing: str) -> str:
    """Return ``listing`` if it is ``"accepted"`` or ``"raw"``; raise ``ValueError`` otherwise."""
    if listing not in LISTINGS:
        raise ValueError(f"unknown listing {listing!r}: expected one of {list(LISTINGS)}")
    return listing


def current_actions(env: gym.Env, listing: str) -> list[str]:
    """The unwrapped env's ``accepted_actions()`` (``listing="accepted"``) or ``valid_actions()`` (``"raw"``)."""
    unwrapped = env.unwrapped
    return unwrapped.accepted_actions() if listing == "accepted" else unwrapped.valid_actions()


class ValidActionDiscrete(MaskedChoiceWrapper, gym.utils.RecordConstructorArgs):
    """Turns a text-action env into ``Discrete(max_actions)`` over its current valid actions.

    Index ``i`` means the ``i``-th action of ``order_actions(actions, order)``: by default the
    actions the game's parser accepts (``listing="accepted"``: ScienceWorld's list without the
    actions naming objects inside closed containers, which the parser rejects), in the ``tiered``
    order: commands, ``focus on``, one-object actions, then two-object combinations, each by length
    then alphabetically. Slots past the list are masked (``action_masks()``, sb3-contrib's
    MaskablePPO protocol). A state listing more than ``max_actions`` keeps the first K:
    ``info["dropped_actions"]`` counts the rest and a warning says so the first time; the default K
    (4,096) holds every state measured over the gold paths of the 30 tasks (at most 3,718).

    A masked or out-of-range index is a harmless no-op: the inner env receives ``look around``
    (which spends no game move but one step of the episode budget, so no agent can loop forever)
    and ``info["valid"]`` is False. A non-integer action (``2.5``, ``"3"``) raises ``TypeError``.
    ``info["action"]`` holds the text that was sent and ``self.actions`` the current action list.
    When the game asks which object was meant (``info["awaiting_choice"]``), the actions are the
    numbered answers ``0``, ``1``, ....

    Args:
        env: an env with ``Text`` actions whose unwrapped env has ``accepted_actions()`` and ``valid_actions()``.
        max_actions: K, the size of the discrete action space.
        listing: ``"accepted"`` (default) or ``"raw"`` (ScienceWorld's own list).
        order: ``"tiered"`` (default) or ``"length"`` (fewer words first: the order before sgd-gym v1).
    """

    noop = NOOP_ACTION
    info_key = "action"
    dropped_key = "dropped_actions"
    unit = "valid actions"
    size_argument = "max_actions"

    def __init__(
        self, env: gym.Env, max_actions: int = DEFAULT_MAX_ACTIONS, listing: str = "accepted", order: str = "tiered"
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_actions=max_actions, listing=listing, order=order)
        order_actions([], order)  # validates the order
        self.listing = check_listing(listing)
        self.order = order
        super().__init__(env, max_actions)
        self.max_actions = self.size

    @property
    def actions(self) -> list[str]:
        """The current valid actions, in index order."""
        return self.choices

    def _list_choices(self, obs: Any) -> list[str]:
        return order_actions(current_actions(self.env, self.listing), self.order)
