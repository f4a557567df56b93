"""Inference guards: small named filters over the actions (or sub-goals) a model agent may send.

A guard reads the agent's ``EpisodeMemory`` and the valid actions and says what to pass over; the model agents
(flat imitation, the hierarchical agent's learned executor and planner) take a list of guards and ground their
candidates through all of them (``agents.grounding.choose_action``). They are chosen by name everywhere: ``sgd eval
--guards safe-focus,avoid-cycles``, a recipe's ``guards: [safe-focus]``, ``summary.json["agent_settings"]["guards"]``.

Adding a guard is one class here (or anywhere imported before the agent is built) with ``@register_guard``::

    @register_guard
    class NoWaiting(Guard):
        name = "no-waiting"
        help = "never wait"

        def avoid_actions(self, memory, valid_actions):
            return {action for action in valid_actions if action.startswith("wait")}

The guards below are the ones the dev split selected (benchmarks/RESULTS.md): ``safe-focus``, ``avoid-cycles`` and
``named-focus`` (every model agent), then ``seen-focus``, ``strict-seen-focus``, ``no-room-focus``,
``named-substance``, ``goal-word-focus``, ``answer-last``, ``seek-substance`` and ``focus-room`` (the scorer-cpu
agents; ``agents/seek.py``: the search for a substance the description does not place), ``focus-first`` (the
hierarchical agent's planner), the option guards ``reach-room``, ``navigation-only``, ``finish-pattern`` and
``end-pattern`` (the scorer-cpu hierarchical agent: its learned executor's termination conditions and its navigation
option's action set) and ``avoid-subgoal-cycles`` (its planner). Guards that lost on dev (copy-actions,
scripted-end, constrained, ground-subgoals, end-stalled; subgoal-focus, shortest-route, distinct-arguments and
no-refocus, never committed) were removed; RESULTS.md keeps their figures and names the commit that last had them.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Sequence
from typing import ClassVar

from agents.context import EpisodeMemory
from agents.focus import (
    FOCUS,
    destination_rooms,
    early_answer_focus,
    first_focus_rooms,
    goal_wordless_focus,
    named_focus_tasks,
    placed_rooms,
    unnamed_focus,
    unnamed_substance_focus,
    unseen_focus,
)
from agents.seek import seek_allows, unfocused
from sgd_gym.executors import AMBIGUOUS
from sgd_gym.subgoals import ROOMS, Subgoal, SubgoalError, action_verb, current_room, expand, parse_subgoal

# what a guard filters: a model's actions (flat agent, executor), the planner's sub-goals, and a learned executor's
# choices within its option (its actions and when the option ends; agents without options have none)
ACTIONS, SUBGOALS, OPTIONS = "actions", "sub-goals", "options"


def cycle_action(history: Sequence[tuple[str, str]], periods: Sequence[int] = (1, 2)) -> str | None:
    """The action that would go round a cycle again, or None.

    ``history`` holds (action, observation) pairs, oldest first. A cycle is the last ``p`` steps
    repeating the ``p`` before them, actions and observations alike (``go to hallway``, ``go to
    workshop``, ``go to hallway``, ``go to workshop`` with the same texts back): its next action is
    ``history[-p]``'s. Repeating an action whose observation changes (a heating loop) is no cycle.
    """
    for period in periods:
        if len(history) >= 2 * period and list(history[-period:]) == list(history[-2 * period : -period]):
            return history[-period][0]
    return None


def sent_focus(history: Sequence[tuple[str, str]]) -> set[str]:
    """The ``focus on`` actions of ``history`` ((action, observation) pairs): gold paths never send one twice."""
    return {action for action, _ in history if action.startswith(FOCUS)}


def running_subgoal(memory: EpisodeMemory) -> Subgoal | None:
    """The running option's sub-goal (``memory.current``) parsed; None between options or for a text that is none."""
    try:
        return parse_subgoal(memory.current or "")
    except SubgoalError:
        return None


class Guard:
    """A named filter over candidate actions and/or sub-goals; the base passes everything.

    Class attributes: ``name`` (what ``--guards`` calls it), ``help`` (one line for ``--help``) and ``filters``
    (``ACTIONS``, ``SUBGOALS`` and/or ``OPTIONS``: which of the agent's choices it filters, so that it is given
    only to the parts that choose those; ``OPTIONS``: a learned executor's, by its option). Guards keep
    no state: everything they read is in the memory they are handed.
    """

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    filters: ClassVar[frozenset[str]] = frozenset({ACTIONS})

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """Valid actions to pass over now, the model's own candidates included (see ``choose_action``)."""
        return set()

    def fallback_allows(self, action: str) -> bool:
        """Whether the fallback (similarity grounding, when no candidate is a valid action) may send ``action``."""
        return True

    def allows_subgoal(self, subgoal: Subgoal, memory: EpisodeMemory, valid_actions: Collection[str]) -> bool:
        """Whether the planner may propose ``subgoal`` now."""
        return True

    def allows_end(self, memory: EpisodeMemory) -> bool:
        """Whether a learned executor may end the running option (``memory.current``) now by saying ``END_SG``."""
        return True

    def requires_end(self, memory: EpisodeMemory) -> bool:
        """Whether a learned executor must end the running option now, whatever its model says (``allows_end`` of
        every guard still has to agree)."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


GUARDS: dict[str, type[Guard]] = {}


def register_guard(cls: type[Guard]) -> type[Guard]:
    """Class decorator: make ``cls`` available by its ``name`` (``ValueError`` for a missing or taken name)."""
    if not cls.name or cls.name != cls.name.strip().lower() or "," in cls.name:
        raise ValueError(f"a guard needs a lowercase name without commas, got {cls.name!r} for {cls.__name__}")
    if GUARDS.get(cls.name, cls) is not cls:
        raise ValueError(f"guard name {cls.name!r} is taken by {GUARDS[cls.name].__name__}")
    if not cls.filters or not cls.filters <= {ACTIONS, SUBGOALS, OPTIONS}:
        allowed = [ACTIONS, SUBGOALS, OPTIONS]
        raise ValueError(f"{cls.__name__}.filters must be a non-empty subset of {allowed}, got {set(cls.filters)}")
    GUARDS[cls.name] = cls
    return cls


def check_guard_names(names: Iterable[str]) -> tuple[str, ...]:
    """The guard names in registration order, each once; ``ValueError`` naming an unknown or repeated one."""
    names = list(names)
    unknown = [name for name in names if name not in GUARDS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], GUARDS, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown guard {unknown[0]!r}: expected some of {list(GUARDS)}{suggestion}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"guard {repeated[0]!r} is given twice")
    return tuple(name for name in GUARDS if name in names)


def make_guards(names: Iterable[str], filters: str | None = None) -> list[Guard]:
    """Guard objects by name (``check_guard_names``); with ``filters``, only those that filter it."""
    return [GUARDS[name]() for name in check_guard_names(names) if filters is None or filters in GUARDS[name].filters]


@register_guard
class SafeFocus(Guard):
    """A ``focus on`` is sent only when the model names it exactly, and never twice (gold paths never repeat one;
    a wrong focus ends the episode)."""

    name = "safe-focus"
    help = "send a 'focus on' only when the model names it exactly, and never twice"

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """The foci sent before."""
        return sent_focus(memory.history)

    def fallback_allows(self, action: str) -> bool:
        """No focus by similarity."""
        return not action.startswith(FOCUS)


@register_guard
class AvoidCycles(Guard):
    """Pass over the action that would go round a cycle of the last steps again (``cycle_action``)."""

    name = "avoid-cycles"
    help = "pass over an action that repeats a cycle of the last steps (same actions, same texts back)"

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """The cycle's next action, if the history ends in a cycle."""
        cycle = cycle_action(memory.history)
        return set() if cycle is None else {cycle}


class FocusGuard(Guard):
    """A guard over ``focus on`` targets, in actions (flat agent, executor) and ``focus_on`` sub-goals (planner)
    alike: a subclass says which foci of a list to pass over (``blocked_foci``)."""

    filters = frozenset({ACTIONS, SUBGOALS})

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The ``focus on`` actions among ``actions`` to pass over."""
        raise NotImplementedError

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """The valid foci ``blocked_foci`` names."""
        return self.blocked_foci(valid_actions, memory)

    def allows_subgoal(self, subgoal: Subgoal, memory: EpisodeMemory, valid_actions: Collection[str]) -> bool:
        """Any sub-goal but a ``focus_on`` whose action ``blocked_foci`` names."""
        return subgoal.verb != "focus_on" or not self.blocked_foci(expand(subgoal), memory)


@register_guard
class RoomFocus(FocusGuard):
    """Never focus on a room: none of the 876 foci of the gold paths of the first 20 train and 5 dev variations of the
    30 tasks does, and a description that names a room (``located around the kitchen``, ``move it to the red box in
    the kitchen``) lets ``named-focus`` and ``seen-focus`` pass a focus on it, which ends the episode."""

    name = "no-room-focus"
    help = "never focus on a room (no gold path does; the description's rooms are where to go, not what to focus on)"

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on one of ``sgd_gym.subgoals.ROOMS``."""
        return {action for action in actions if action.startswith(FOCUS) and action[len(FOCUS) :] in ROOMS}


@register_guard
class NamedFocus(FocusGuard):
    """In a task whose train-split gold paths focus only on what the task description names
    (``agents/named_focus.json``, learned by ``python -m agents.focus``), never focus on anything else: neither an
    action (flat agent, executor) nor a ``focus_on`` sub-goal (planner)."""

    name = "named-focus"
    help = (
        "in a task whose train-split gold paths focus only on what the task description names "
        "(agents/named_focus.json), never focus on anything else (actions and the planner's focus_on sub-goals)"
    )

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on a target the description does not name (``agents.focus.unnamed_focus``)."""
        return unnamed_focus(actions, memory.task_name, memory.task)


@register_guard
class SeenFocus(FocusGuard):
    """In a task where the train split's gold focus targets cover the dev split's (``agents/seen_focus.json``,
    learned by ``python -m agents.focus --seen``), never focus on a target that shares no word with them and that
    the description does not name: a planner trained on 30 tasks carries one task's foci into another (a painting,
    a find-non-living-thing target, in an inclined-plane task), and a wrong focus ends the episode."""

    name = "seen-focus"
    help = (
        "in a task whose train gold foci cover its dev ones (agents/seen_focus.json), never focus on a target that "
        "shares no word with them and is not named (actions and the planner's focus_on sub-goals)"
    )

    strict: ClassVar[bool] = False

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on an unseen target, unnamed (or, ``strict``, named or not) (``agents.focus.unseen_focus``)."""
        return unseen_focus(actions, memory.task_name, memory.task, strict=self.strict)


@register_guard
class StrictSeenFocus(SeenFocus):
    """``seen-focus`` without the exemption for named targets, in the tasks where the train split's gold focus words
    alone cover the dev split's foci (``strict`` in ``agents/seen_focus.json``): a description names the box for the
    answer and the room to bring a thing to, and a focus on them ends the episode."""

    name = "strict-seen-focus"
    help = (
        "seen-focus, named targets included, in the tasks whose train gold focus words alone cover the dev foci "
        "(agents/seen_focus.json: strict)"
    )
    strict = True


@register_guard
class NamedSubstance(FocusGuard):
    """``named-focus`` for what a target holds: in the same tasks, never focus on a target that denotes a substance
    the description does not name. The action list calls what a container holds ``substance in metal pot``; the
    description's "First, focus on the substance" names the word, so ``named-focus`` passes it whatever the pot
    holds, and a planner that focuses on the pot's water in a task to boil soap or lead ends the episode. The look
    and inventory say what it holds (``a metal pot (containing a substance called water)``,
    ``agents.focus.target_substances``). Of the 876 gold foci of the first 20 train and 5 dev variations of the 30
    tasks, 64 denote a substance; in the named-focus tasks the description names it in all 63 (the other: soap, in
    find-non-living-thing, which names no object)."""

    name = "named-substance"
    help = (
        "in the named-focus tasks, never focus on a target that holds or is a substance the description does not "
        "name (the look says what 'substance in metal pot' is)"
    )

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on a substance the description does not name (``agents.focus.unnamed_substance_focus``)."""
        return unnamed_substance_focus(actions, memory.task_name, memory.task, memory.look, memory.inventory)


@register_guard
class GoalWordFocus(FocusGuard):
    """In a task whose train-split gold paths focus (at least 95% of the time; in the shipped table, always) on
    targets with a word of the task's goal (the first sentence: ``focus on the 4 life stages of the turtle`` -> ``egg
    turtle`` ... ``adult turtle``; ``goal_enforced`` in ``agents/named_focus.json``), never focus on a target without
    one (a dove in a task on the parrot, a frog in one on the brown bear). In the gold paths of the first 20 train and
    5 dev variations of the 30 tasks, every focus of those 14 tasks has one (``tests/agents/test_focus.py`` checks the
    gold paths it collects)."""

    name = "goal-word-focus"
    help = (
        "in a task whose train gold foci all have a word of the task's goal (agents/named_focus.json: "
        "goal_enforced), never focus on a target without one"
    )

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on a target without a goal word (``agents.focus.goal_wordless_focus``)."""
        return goal_wordless_focus(actions, memory.task_name, memory.task)


@register_guard
class AnswerLast(FocusGuard):
    """A description that asks for foci in order and then for an answer (``First, focus on the thermometer. Next,
    focus on the mercury. If the melting point of mercury is above 10.0 degrees celsius, focus on the yellow box.``)
    gets its answer last: no focus on an answer target before as many foci as it asks for first have been sent
    (``agents.focus.focus_order``). A planner that focuses on the box right after the thermometer ends the episode
    with the substance never focused or measured. None of the 28,680 gold actions of the first 20 train and 5 dev
    variations of the 30 tasks is refused (only the measure-melting-point descriptions ask for foci before an
    answer)."""

    name = "answer-last"
    help = "no focus on a description's answer (the box of 'If ..., focus on the blue box') before the foci it asks for first"

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """The foci on an answer target while too few foci have been sent (``agents.focus.early_answer_focus``)."""
        return early_answer_focus(actions, memory.task, [action for action, _ in memory.history])


@register_guard
class SeekSubstance(Guard):
    """Until the focus on the substance a task names but does not place (``agents.seek.unfocused``: boil, melt,
    freeze or change the state of matter of lead, which lies in the workshop), the planner proposes and a policy
    sends only what ``agents.seek.seek_allows``: look around, open, pick up, focus, and, while the substance is not in
    view, a move toward a room not yet visited (or back to where it was seen). The kitchen paths the models imitate
    fill a pot at the sink or heat what the fridge holds instead. No gold step or sub-goal of the first 20 train and 5
    dev variations of the 30 tasks is refused (``agents/seek.py``)."""

    name = "seek-substance"
    help = (
        "until the focus on the substance a task names but does not place: only look around, open, pick up, focus, "
        "and, while it is not in view, go to rooms not yet visited"
    )
    filters = frozenset({ACTIONS, SUBGOALS})

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """Before the focus: the valid actions ``seek_allows`` refuses (none when it would refuse all of them)."""
        if not unfocused(memory):
            return set()
        avoid = set()
        for action in valid_actions:
            verb = action_verb(action)
            if not seek_allows(verb, action.rpartition(" to ")[2] if verb == "navigate_to" else None, memory):
                avoid.add(action)
        return set() if len(avoid) == len(valid_actions) else avoid

    def allows_subgoal(self, subgoal: Subgoal, memory: EpisodeMemory, valid_actions: Collection[str]) -> bool:
        """Before the focus: whether ``seek_allows`` the sub-goal."""
        room = subgoal.args[0] if subgoal.verb == "navigate_to" else None
        return not unfocused(memory) or seek_allows(subgoal.verb, room, memory)


@register_guard
class FocusRoom(FocusGuard):
    """The first focus of an episode is sent only in the room where the task's train gold paths send theirs, in the
    tasks where at least 95% of them agree on one (``first_room`` in ``agents/named_focus.json``: outside for the
    find-animal, find-living-thing, life-stage and lifespan tasks, the greenhouse for find-plant, growing and
    mendelian genetics, the workshop for the inclined planes, conductivity and power, the kitchen for the
    thermometer and melting-point tasks; 22 of 30), or in a room the description places something in before it asks
    for the focus (``agents.focus.placed_rooms``: "Seeds can be found in the living room. First, focus on a seed.":
    the game takes the seed's focus there too). The dev gold paths' first foci are all in those rooms. The find
    tasks' planner focused on the first room's glass jar or apple, or on the box room's bed."""

    name = "focus-room"
    help = "the first focus only in the room where the task's train gold paths send theirs (agents/named_focus.json)"

    def blocked_foci(self, actions: Collection[str], memory: EpisodeMemory) -> set[str]:
        """Before any focus, in a task with a ``first_room``, in a room neither it nor one the description places
        something in (``agents.focus.placed_rooms``): every focus of ``actions``."""
        room = first_focus_rooms().get(memory.task_name or "")
        here = current_room(memory.look)
        if room is None or here in (None, room) or here in placed_rooms(memory.task) or sent_focus(memory.history):
            return set()
        return {action for action in actions if action.startswith(FOCUS)}


@register_guard
class FocusFirst(Guard):
    """Before its first ``focus on``, the planner does not go to a room the description names only as where a later
    step goes (``agents.focus.destination_rooms``: "First, focus on the thing. Then, move it to the red box in the
    bedroom."). The find tasks' gold paths fetch the thing first (outside, in the greenhouse) and go to the box's
    room after; a planner that goes there first focuses on what it finds there (a bed, in a task to find a living
    thing; "living" names the living room too). It acts in the tasks whose train gold paths send their first focus
    outside those rooms (``destination_enforced`` in ``agents/named_focus.json``: find-living-thing, find-animal and
    find-plant; find-non-living-thing's focus on what the box's room holds). The rules annotation joins a walk
    through the box's room into one ``navigate_to`` of the room it ends in, so no gold sub-goal there goes to it
    before the focus."""

    name = "focus-first"
    help = "the planner goes to a room the description names for a step after its first focus only after a focus"
    filters = frozenset({SUBGOALS})

    def allows_subgoal(self, subgoal: Subgoal, memory: EpisodeMemory, valid_actions: Collection[str]) -> bool:
        """False for ``navigate_to`` a destination room while no focus has been sent, in the tasks where the train
        gold paths focus before it (``destination_enforced`` in ``agents/named_focus.json``)."""
        if subgoal.verb != "navigate_to" or subgoal.args[0] not in destination_rooms(memory.task):
            return True
        return memory.task_name not in named_focus_tasks(rule="destination_enforced") or bool(sent_focus(memory.history))


@register_guard
class ReachRoom(Guard):
    """A ``navigate_to(room)`` option ends only in that room: its termination condition (Sutton, Precup and Singh
    1999: an option is a policy with a termination condition), which holds at the end of every one of the 994
    ``navigate_to`` segments the rule annotator finds in the gold paths of the first 20 train and 5 dev variations of
    the 30 tasks. A learned executor that says ``END_SG`` elsewhere (after the first room on the way) is passed over
    to its best action; ``max_option_steps`` still ends an option that cannot get there."""

    name = "reach-room"
    help = "a learned executor ends a navigate_to(room) option only in that room (its termination condition)"
    filters = frozenset({OPTIONS})

    def allows_end(self, memory: EpisodeMemory) -> bool:
        """False while the running option is ``navigate_to(room)`` and ``memory.look`` is another room's."""
        subgoal = running_subgoal(memory)
        return subgoal is None or subgoal.verb != "navigate_to" or current_room(memory.look) in (None, subgoal.args[0])


@register_guard
class NavigationOnly(Guard):
    """A ``navigate_to(room)`` option sends only navigation actions (going, teleporting, opening a door to a room:
    ``sgd_gym.subgoals.action_verb`` says ``navigate_to``), as every one of the 994 ``navigate_to`` segments the rule
    annotator finds in the gold paths of the first 20 train and 5 dev variations of the 30 tasks does. The learned
    executor sent what its planner had not asked for on the way (``focus on orange``, ``pick up egg turtle``,
    ``pour closet into bedroom``: a stray focus ends the episode); a navigation option is a policy over moves
    (its option's action set), and reach-room is its termination condition."""

    name = "navigation-only"
    help = "a learned executor sends only navigation actions (go to, teleport to, open door to) for navigate_to(room)"
    filters = frozenset({OPTIONS})

    def avoid_actions(self, memory: EpisodeMemory, valid_actions: Sequence[str]) -> set[str]:
        """While the running option is ``navigate_to(room)``: the valid actions that are not navigation."""
        subgoal = running_subgoal(memory)
        if subgoal is None or subgoal.verb != "navigate_to":
            return set()
        return {action for action in valid_actions if action_verb(action) != "navigate_to"}


@register_guard
class FinishPattern(Guard):
    """A pattern sub-goal's option ends only after it has sent an action of its last step's verb (``heat(x, y)``:
    ``move x to y``, ``activate y``: an ``activate``; ``focus_on(x)``: a ``focus on``; ``wait(1)``: ``wait1``, by
    ``sgd_gym.subgoals.action_verb``), which holds at the end of every one of the 13,642 pattern segments the rule
    annotator finds in the gold paths of the first 20 train and 5 dev variations of the 30 tasks. A learned executor
    that says ``END_SG`` before (after ``put down thermometer`` for ``focus_on(thermometer)``) is passed over to its
    best action; ``max_option_steps`` still ends an option that cannot finish. ``navigate_to`` is ``reach-room``'s."""

    name = "finish-pattern"
    help = "a learned executor ends a pattern sub-goal only after an action of its last step's verb"
    filters = frozenset({OPTIONS})

    def allows_end(self, memory: EpisodeMemory) -> bool:
        """False while the running option's actions (the last ``memory.option_steps`` of the history) hold none of
        the verb of its last pattern step."""
        subgoal = running_subgoal(memory)
        if subgoal is None or subgoal.verb == "navigate_to":
            return True
        verb = action_verb(expand(subgoal)[-1])
        sent = memory.history[-memory.option_steps :] if memory.option_steps else []
        return any(action_verb(action) == verb for action, _ in sent)


@register_guard
class AvoidSubgoalCycles(Guard):
    """``avoid-cycles`` one level up: the planner passes over the sub-goal that would go round a cycle of the last
    options again (``cycle_action`` over (sub-goal, the observation its option ended on) pairs: the same sub-goal
    twice with the same outcome, or two alternating). The planner's train sequences almost never repeat a sub-goal
    (14 of the 9,292 consecutive pairs in the rules annotations of the first 20 train variations, ``measure`` and
    ``watch`` aside, whose outcomes change), while a test episode of the option guards' row ran one ``put`` the game
    refused thirty times in a row."""

    name = "avoid-subgoal-cycles"
    help = "the planner passes over a sub-goal that would repeat a cycle of options with the same outcomes"
    filters = frozenset({SUBGOALS})

    def allows_subgoal(self, subgoal: Subgoal, memory: EpisodeMemory, valid_actions: Collection[str]) -> bool:
        """False for the sub-goal that would go round a cycle of ``memory.completed`` again."""
        return cycle_action(list(zip(memory.completed, memory.outcomes))) != str(subgoal)


@register_guard
class EndPattern(Guard):
    """A pattern sub-goal's option ends once its pattern's actions are sent (their verbs, by
    ``sgd_gym.subgoals.action_verb``: ``heat(x, y)`` after a ``put`` then an ``activate``), unless the game's last
    reply asks which object was meant (``Ambiguous request``: the answer ``0`` is part of the option). Every gold
    segment of the rules annotations of the first 20 train and 5 dev variations of the 30 tasks has exactly its
    pattern's length but 19 ``focus_on`` and 644 ``put`` segments, which end on such an answer (43 of the ``put`` ones
    on a stray ``0`` after a move the game did not question). ``finish-pattern``'s
    counterpart: it forbids an early end, this one a late one (the learned executor ran ``look_at`` options 2.3
    actions long on test). The T5 executors' rule of the same kind (``scripted-end``) lost on their dev split."""

    name = "end-pattern"
    help = "a learned executor ends a pattern sub-goal once its pattern's actions are sent (not at an ambiguity prompt)"
    filters = frozenset({OPTIONS})

    def requires_end(self, memory: EpisodeMemory) -> bool:
        """True when the verbs of the option's last actions are its pattern's and the last reply is no ambiguity
        prompt; never for ``navigate_to`` (``reach-room``'s) or before the option's first action."""
        subgoal = running_subgoal(memory)
        if subgoal is None or subgoal.verb == "navigate_to" or not memory.option_steps:
            return False
        pattern = [action_verb(action) for action in expand(subgoal)]
        sent = [action_verb(action) for action, _ in memory.history[-memory.option_steps :]]
        return sent[-len(pattern) :] == pattern and not memory.observation.startswith(AMBIGUOUS)
