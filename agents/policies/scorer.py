"""The scorer family: a policy that scores the candidates a state offers (context + candidates -> one score each).

Generative policies write their sub-goal or action as text and ground it onto the valid list afterwards; a scorer
reads the list and picks from it, the way text-game agents act on small budgets: DRRN (He et al. 2016, a state
network and an action network meeting in an interaction), the ScienceWorld paper's 1.5M-parameter RL agent (Wang
et al. 2022), a scorer of admissible actions distilled from a teacher (Yin et al. 2020). Here the teacher is the
sub-goal annotation of the gold paths (Hashemzadeh et al. 2024 §3): the planner scores the state's sub-goal
candidates, the executor the accepted actions plus ``END_SG`` with the current sub-goal in its context, the flat
policy the accepted actions; each is trained listwise (cross-entropy over a decision's candidates,
``agents.train_scorer``) on decisions replayed from the gold paths (``agents.data.decisions``).

The model (``ScorerNet``) reads the same ``build_context`` source as the generative families, split into its fields
(``agents.context.context_fields``):

- **encoder** ``bow`` (default): hashed word n-grams (``sgd_gym.wrappers.observation.hashed_ngram_ids``, the
  bag-of-words wrapper's hash, each field's n-grams hashed with the field's name) averaged in one ``EmbeddingBag``,
  field by field (``pooling: fields``, the default: the task, the completed sub-goals, the room ... each an input of
  its own) or over the whole context (``joint``, the first shipped, version-1 checkpoints); the candidate's n-grams
  likewise, with their own prefix. ``minilm``: frozen all-MiniLM-L6-v2 sentence embeddings
  of the context and of each candidate (``sgd_gym.wrappers.text_embedding.MiniLMEncoder``, cached per text) under a
  linear layer; a context is its fields' embeddings, concatenated (``fields``) or averaged (``joint``) (MiniLM
  reads 256 word pieces).
- **match features** (``candidate_features``): for each candidate, the share of its words found in each context
  field (current sub-goal, task, observation, inventory, room, completed sub-goals, history), whether it was sent
  before or last, whether it is ``END_SG``. Words carry no learned meaning here, so these hold for objects and rooms
  no training state showed (a test variation's animal), which hashed embeddings alone cannot.
- **head** ``mlp`` (default): an MLP over ``[s, c, s * c, features]``; ``dot``: DRRN's ``<s, c>`` plus a linear
  term of the features.
- **wide terms** added to that (feature versions): a learned bias per (verb of the step before, candidate verb)
  pair (``verb_pairs``, version 2), and one learned weight per (task word, candidate word) pair (``cross_ids``,
  version 3), which memorises what each task does (the room a task starts in, the objects it focuses on); from
  version 4 on, the same table also holds one weight per (relation token, task key) pair (``relation_tokens``: is the
  candidate's argument a room, named by the goal or a later sentence, in the inventory, used before; how many foci
  came before; which verbs did), words of no object, so they hold in variations no training state showed. Version 5
  adds joint tokens (focused on before; held and used before; named after the goal, by the foci so far); it lost to
  version 4 on dev, which stays the default (``DEFAULT_FEATURES``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from agents.context import context_fields
from agents.policies.checkpoint import POLICY_FILE, CheckpointError, read_policy_settings
from sgd_gym.io import atomic_write_text, with_umask
from sgd_gym.subgoals import (
    END_SG,
    PATTERNS,
    ROOMS,
    VERBS,
    SubgoalError,
    action_verb,
    expand,
    match_action,
    parse_subgoal,
    unescape_name,
)
from sgd_gym.wrappers.observation import hashed_ngram_ids

SCORER = "scorer"
ENCODERS = ("bow", "minilm")
HEADS = ("mlp", "dot")
POOLINGS = ("joint", "fields")
# The context fields of ``build_context`` (``agents.context.context_fields``), in the order ``fields`` pooling lays
# out their encodings; a field a source lacks (``current`` outside the executor) encodes as zeros.
CONTEXT_FIELDS = ("task", "step", "current", "observation", "inventory", "completed", "history", "look")
KINDS = ("planner", "executor", "flat")
WEIGHTS = "model.safetensors"
MODEL_CARD = "README.md"
MATCH_FIELDS = ("current", "task", "observation", "inventory", "look", "completed", "history")
# Feature sets by version (``ScorerConfig.features``): a checkpoint keeps the set it was trained with; each set
# extends the one before, so version 1 checkpoints (saved before versions existed) load and act unchanged.
FEATURE_SETS: dict[int, tuple[str, ...]] = {
    1: (
        *(f"in_{name}" for name in MATCH_FIELDS),
        "sent_before",
        "sent_last",
        "is_end",
        "end_after_its_action",
        "end_in_its_room",
        "current_verb",
        "current_action",
    ),
}
FEATURE_SETS[2] = (*FEATURE_SETS[1], "repeat_completed", "in_last_step")
FEATURE_SETS[3] = FEATURE_SETS[2]  # version 3 adds no column: the task-word x candidate-word term (``cross_ids``)
FEATURE_SETS[4] = FEATURE_SETS[3]  # version 4 adds no column: relation tokens in the cross term (``relation_tokens``)
FEATURE_SETS[5] = FEATURE_SETS[4]  # version 5 adds no column: three joint relation tokens per argument
FEATURES = FEATURE_SETS[max(FEATURE_SETS)]  # the newest set's columns
# the version new scorers take unless told: the one dev chose (version 5 scored 42.9 against 43.7 on dev x 5 as a
# planner, 13.5 against 13.9 as a flat policy: benchmarks/RESULTS.md); ``--features 5`` trains the newest
DEFAULT_FEATURES = 4
CROSS_BUCKETS = 1 << 18  # rows of the cross term's table (one learned weight each)
# The verbs of the verb-pair term (version >= 2): "" for none or unknown, every sub-goal verb, END_SG.
PAIR_VERBS = ("", *sorted(VERBS), END_SG)
_PAIR_INDEX = {verb: i for i, verb in enumerate(PAIR_VERBS)}
_WORD = re.compile(r"[a-z0-9]+")
# Words of the action templates (``focus on X``, ``move X to Y``, ...): left out of the overlaps, which then count the
# objects a candidate names (every task says "focus on", so "focus on paint" would otherwise half-match any task).
_TEMPLATE_WORDS = frozenset(word for templates in PATTERNS.values() for template in templates
                            for word in _WORD.findall(template)) | {"go", "teleport", "dunk", "put", "down", "wait1"}  # fmt: skip
_STOPWORDS = frozenset("a an the to in on of and at into with is it from".split()) | _TEMPLATE_WORDS
_HISTORY_ACTION = re.compile(r"(?:^|; )(.+?) -> ")


@dataclass(frozen=True)
class ScorerConfig:
    """The shape of a ``ScorerNet`` (saved in ``sgd_policy.json``).

    Args:
        encoder: ``bow`` or ``minilm`` (module docstring).
        head: ``mlp`` or ``dot``.
        buckets: hash buckets of the ``bow`` encoder (rows of its embedding table).
        dim: embedding width.
        hidden: width of the state, candidate and head layers.
        ngram: longest word n-gram hashed (``bow``).
        max_source_tokens: the context budget of ``build_context`` (its approximate tokens).
        features: the version of the match features (``FEATURE_SETS``; from 2 on also the verb-pair term,
            ``verb_pairs``; from 3 on also the cross term, ``cross_ids``; from 4 on also the relation tokens in it,
            ``relation_tokens``; 5 adds joint relation tokens). Default ``DEFAULT_FEATURES`` (4, dev's choice).
            Checkpoints saved before versions existed hold version 1.
        pooling: how the context's encodings are pooled into the state network's input: ``joint``, one mean over
            all fields' n-grams (or MiniLM field embeddings), the form of checkpoints saved before this setting
            existed; ``fields``, one mean per field of ``CONTEXT_FIELDS``, concatenated. In a joint mean the task
            description's n-grams are about a tenth of the whole (mean 11.6% over 4,804 dev planner contexts,
            ``benchmarks/RESULTS.md``) against the room and history, and a planner trained on 30
            tasks read the task so faintly that it ran one task's sub-goals in another (the boil script in
            mendelian-genetics, ``benchmarks/RESULTS.md``); a field of its own gives the task, the completed
            sub-goals and the inventory their own inputs. Chosen on dev together with features 3 (alone, with
            features 2, it scored lower than joint; features 3 with joint pooling was not tried).
    """

    encoder: str = "bow"
    head: str = "mlp"
    buckets: int = 1 << 15
    dim: int = 64
    hidden: int = 64
    ngram: int = 2
    max_source_tokens: int = 512
    features: int = DEFAULT_FEATURES
    pooling: str = "fields"

    def check(self) -> None:
        """Raise ``ValueError`` naming a bad setting and what is allowed."""
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}: expected one of {list(ENCODERS)}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}: expected one of {list(HEADS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}: expected one of {list(POOLINGS)}")
        for name in ("buckets", "dim", "hidden", "ngram", "max_source_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.features not in FEATURE_SETS:
            raise ValueError(f"unknown features version {self.features!r}: expected one of {sorted(FEATURE_SETS)}")


_VOCABULARY: dict[str, int] = {}  # word -> id, grown as words are met (ids are only compared within a process)


def _word_ids(text: str) -> np.ndarray:
    """The distinct word ids of ``text`` (lower-cased letters and digits, a few stopwords dropped)."""
    words = {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}
    return np.fromiter((_VOCABULARY.setdefault(word, len(_VOCABULARY)) for word in sorted(words)), dtype=np.int64)


@functools.lru_cache(maxsize=1 << 17)
def _candidate_word_ids(text: str) -> np.ndarray:
    ids = _word_ids(text)
    ids.flags.writeable = False
    return ids


def _overlap(candidate: np.ndarray, words: np.ndarray) -> float:
    return float(np.isin(candidate, words).mean()) if len(candidate) else 0.0


def candidate_features(source: str, candidates: Sequence[str], version: int = max(FEATURE_SETS)) -> np.ndarray:
    """The ``(N, len(FEATURE_SETS[version]))`` float32 match features of ``candidates`` in the context ``source``
    (module docstring).

    ``in_<field>``: the share of a candidate's words (lower-cased letters and digits, a few stopwords dropped) that
    occur in that field; ``sent_before``: the times the candidate appears as an action in the history (at most 3,
    over 3); ``sent_last``: it is the history's last action; ``is_end``: it is ``END_SG``; for ``END_SG`` only (0
    elsewhere), what tells that its sub-goal is done: ``end_after_its_action``, the share of the current sub-goal's
    words in the history's last action (``pick up frog`` after ``pick_up(frog)``), and ``end_in_its_room``, the share
    of them in the room's name (the look's first sentence: ``navigate_to(kitchen)`` in the kitchen);
    ``current_verb``: the candidate action expresses the current sub-goal's verb (``move x to y`` for ``put``, any
    navigation for ``navigate_to``); ``current_action``: it is one of the current sub-goal's own actions
    (``sgd_gym.subgoals.expand``: ``move counter to green box`` for ``put(counter, green box)``). The overlaps leave
    out the words of the action templates (``focus``, ``move``, ``to``, ...): they count the objects a candidate names.
    Version 2 adds ``repeat_completed``, the times the candidate is among the completed sub-goals shown (at most 3,
    over 3: a planner that repeats itself is stuck), and ``in_last_step``, the share of its words in the step before
    (``_previous_step``: ``pick_up(frog)`` after ``focus_on(frog)``).

    Raises:
        ValueError: an unknown ``version``.
    """
    if version not in FEATURE_SETS:
        raise ValueError(f"unknown features version {version!r}: expected one of {sorted(FEATURE_SETS)}")
    fields = context_fields(source)
    sent = _HISTORY_ACTION.findall(fields.get("history", ""))
    last = sent[-1] if sent else ""
    words = [_candidate_word_ids(candidate) for candidate in candidates]
    lengths = np.fromiter((len(ids) for ids in words), dtype=np.int64, count=len(words))
    flat, owner = np.concatenate([np.zeros(0, np.int64), *words]), np.repeat(np.arange(len(words)), lengths)
    rows = np.zeros((len(candidates), len(FEATURE_SETS[version])), dtype=np.float32)

    def shares(text: str) -> np.ndarray:  # the share of each candidate's words found in ``text``
        found = np.bincount(owner, weights=np.isin(flat, _word_ids(text)), minlength=len(words))
        return found / np.maximum(lengths, 1)

    for column, name in enumerate(MATCH_FIELDS):
        rows[:, column] = shares(fields.get(name, ""))
    times = {action: min(sent.count(action), 3) / 3 for action in set(sent)}
    rows[:, len(MATCH_FIELDS)] = [times.get(candidate, 0.0) for candidate in candidates]
    rows[:, len(MATCH_FIELDS) + 1] = [candidate == last for candidate in candidates]
    verb, actions = _current_actions(fields.get("current", ""))
    if verb:
        rows[:, len(MATCH_FIELDS) + 5] = [action_verb(candidate) == verb for candidate in candidates]
        rows[:, len(MATCH_FIELDS) + 6] = [candidate in actions for candidate in candidates]
    is_end = np.asarray([candidate == END_SG for candidate in candidates], dtype=np.float32)
    rows[:, len(MATCH_FIELDS) + 2] = is_end
    if is_end.any():
        current = _word_ids(fields.get("current", ""))
        room = fields.get("look", "").split(".", 1)[0]
        rows[:, len(MATCH_FIELDS) + 3] = is_end * _overlap(current, _word_ids(last))
        rows[:, len(MATCH_FIELDS) + 4] = is_end * _overlap(current, _word_ids(room))
    if version >= 2:
        completed = _completed(fields.get("completed", ""))
        first = len(FEATURE_SETS[1])
        rows[:, first] = [min(completed.count(candidate), 3) / 3 for candidate in candidates]
        rows[:, first + 1] = shares(_previous_step(fields, completed, last))
    return rows


def _completed(text: str) -> list[str]:
    """The completed sub-goals a ``completed`` field shows, oldest first (``build_context``: ``(n earlier) a; b``)."""
    text = re.sub(r"^\(\d+ earlier\) ", "", text.strip())
    return [] if text in ("", "none") else text.split("; ")


def _previous_step(fields: dict[str, str], completed: list[str], last_action: str) -> str:
    """What came just before the decision: the last completed sub-goal for a planner context (it has ``completed``
    and no ``current``), else the last action sent."""
    if "completed" in fields and "current" not in fields:
        return completed[-1] if completed else ""
    return last_action


@functools.lru_cache(maxsize=1 << 17)
def _candidate_verb(text: str) -> str:
    """The verb of a candidate: ``END_SG``, a sub-goal's verb, or the verb an action expresses (``action_verb``)."""
    if text == END_SG:
        return END_SG
    if text.endswith(")"):
        with contextlib.suppress(SubgoalError):
            return parse_subgoal(text).verb
    return action_verb(text)


def verb_pairs(source: str, candidates: Sequence[str]) -> np.ndarray:
    """The ``(N,)`` int64 index of (verb of the step before, verb of the candidate) pairs, into ``PAIR_VERBS``
    squared: the scorer learns a bias per pair (``focus_on`` then ``pick_up``; ``go to`` then ``look around``), what a
    bag of words cannot tell from the order of the context. The step before is ``_previous_step``'s."""
    fields = context_fields(source)
    sent = _HISTORY_ACTION.findall(fields.get("history", ""))
    previous = _previous_step(fields, _completed(fields.get("completed", "")), sent[-1] if sent else "")
    row = _PAIR_INDEX.get(_candidate_verb(previous), 0) * len(PAIR_VERBS)
    return np.fromiter((row + _PAIR_INDEX.get(_candidate_verb(c), 0) for c in candidates), dtype=np.int64,
                       count=len(candidates))  # fmt: skip


def _text_hashes(text: str, drop: frozenset[str] = frozenset()) -> np.ndarray:
    """The stable (crc32) hashes of the distinct words of ``text`` not in ``drop``, as uint64, sorted (read-only)."""
    words = sorted({word for word in _WORD.findall(text.lower()) if word not in drop})
    hashes = np.fromiter((zlib.crc32(word.encode()) for word in words), dtype=np.uint64, count=len(words))
    hashes.flags.writeable = False
    return hashes


@functools.lru_cache(maxsize=1 << 12)
def _task_hashes(task: str) -> np.ndarray:
    """``_text_hashes`` of a task description, stopwords and template words left out (a cache of its own: the
    candidates' texts, far more, would push the few descriptions out)."""
    return _text_hashes(task, _STOPWORDS)


@functools.lru_cache(maxsize=1 << 17)
def _candidate_hashes(text: str) -> np.ndarray:
    """``_text_hashes`` of a candidate, all its words (its verb's too: ``navigate_to(greenhouse)`` is navigate, to,
    greenhouse)."""
    return _text_hashes(text)


def cross_ids(
    source: str, candidates: Sequence[str], buckets: int = CROSS_BUCKETS, version: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """The task-word x candidate-word term of feature version 3: for each candidate, the buckets of every (word of
    the task description, word of the candidate) pair, as ``(ids, lengths)``: ``ids`` ``(sum(lengths),)`` int64,
    candidate after candidate, ``lengths`` ``(N,)``. The scorer learns one weight per bucket and adds the sum of a
    candidate's to its score: the wide, memorising half of a wide-and-deep model (Cheng et al. 2016), which ties
    ``mendelian`` in a task to ``greenhouse`` in a sub-goal directly. A mean over hashed n-grams cannot: on 30 tasks
    the planner's first sub-goal (the room to go to, fixed per task) was right in 52-59% of dev decisions.
    Stopwords and template words are left out of the task's words; a pair is hashed by its two words' crc32s, so
    buckets hold across processes. From ``version`` 4 on, each candidate's row also holds its ``relation_tokens``, each
    paired with a global word and the goal sentence's first three words (``_Relations.goal_head``)."""
    task = _task_hashes(context_fields(source).get("task", ""))
    words = [_candidate_hashes(candidate) for candidate in candidates]
    lengths = np.fromiter((len(row) * len(task) for row in words), dtype=np.int64, count=len(words))
    flat = np.concatenate([np.zeros(0, np.uint64), *words])
    # (M, T): row m pairs the m-th candidate word (candidates in order) with every task word
    pairs = (flat[:, None] * np.uint64(0x9E3779B1) + task[None, :]) % np.uint64(buckets)
    if version < 4:
        return pairs.reshape(-1).astype(np.int64), lengths
    found = _Relations.read(source)
    extra = [_relation_ids(_relation_signature(c, found, version), found.goal_head, buckets) for c in candidates]
    extra_lengths = np.fromiter(map(len, extra), dtype=np.int64, count=len(extra))
    # each candidate's ids contiguous (the bag's offsets): its word pairs, then its relation ids
    owners = np.concatenate([np.repeat(np.arange(len(words)), lengths), np.repeat(np.arange(len(words)), extra_lengths)])
    ids = np.concatenate([pairs.reshape(-1).astype(np.int64), *extra])
    return ids[np.argsort(owners, kind="stable")], lengths + extra_lengths


_GLOBAL = np.asarray([zlib.crc32(b"*")], dtype=np.uint64)  # the pseudo task word every task has (version >= 4)
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


@functools.lru_cache(maxsize=1 << 17)
def _candidate_subgoal(text: str) -> tuple[str, tuple[str, ...]]:
    """The verb and the argument names (unescaped) of a candidate: a sub-goal's own, or those of the single-action
    sub-goal an action expresses (``match_action``); ``(verb, ())`` when there are none."""
    if text.endswith(")"):
        with contextlib.suppress(SubgoalError):
            found = parse_subgoal(text)
            return found.verb, tuple(unescape_name(arg) for arg in found.args)
    found = match_action(text) if text != END_SG else None
    if found is not None:
        return found.verb, tuple(unescape_name(arg) for arg in found.args)
    return _candidate_verb(text) or "?", ()


def _share(words: frozenset[str], text_words: frozenset[str]) -> str:
    """``all``, ``some`` or ``none`` of ``words`` in ``text_words`` (``none`` for no words)."""
    found = len(words & text_words)
    return "all" if words and found == len(words) else "some" if found else "none"


@functools.lru_cache(maxsize=1 << 17)
def _content_words(text: str) -> frozenset[str]:
    return frozenset(word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS)


@dataclass(frozen=True)
class _Relations:
    """What ``relation_tokens`` reads of one context, computed once per decision."""

    goal: frozenset[str]  # the content words of the task's first sentence (its goal: "boil lead")
    # its first three words that are not stopwords: every description opens "Your task is to ...", so these are
    # "your", "task" and the task's verb ("measure", "find", "boil"): the keys a relation token is paired with
    goal_head: tuple[str, ...]
    rest: frozenset[str]  # those of the rest of the description ("focus on the red box if ...")
    inventory: frozenset[str]
    before: tuple[str, ...]  # the steps shown before the decision: completed sub-goals (planner) or actions sent
    verbs: frozenset[str]  # their verbs
    prior: frozenset[str]  # the argument names they used
    focuses: int  # how many of them focus
    focused: frozenset[str]  # the targets they focused on

    @classmethod
    def read(cls, source: str) -> _Relations:
        fields = context_fields(source)
        sentences = _SENTENCE.split(fields.get("task", "").strip(), maxsplit=1)
        goal = _content_words(sentences[0])
        head = tuple(dict.fromkeys(w for w in _WORD.findall(sentences[0].lower()) if w not in _STOPWORDS))[:3]
        rest = _content_words(sentences[1]) if len(sentences) > 1 else frozenset()
        if "completed" in fields and "current" not in fields:
            before = tuple(_completed(fields["completed"]))
        else:
            before = tuple(_HISTORY_ACTION.findall(fields.get("history", "")))
        parsed = [_candidate_subgoal(step) for step in before]
        foci = [args[0] for verb, args in parsed if verb == "focus_on" and args]
        return cls(goal, head, rest, _content_words(fields.get("inventory", "")), before,
                   frozenset(verb for verb, _ in parsed), frozenset(arg for _, args in parsed for arg in args),
                   len(foci), frozenset(foci))  # fmt: skip


def relation_tokens(source: str, candidate: str, relations: _Relations | None = None, version: int = 4) -> list[str]:
    """The relation tokens of ``candidate`` in the context ``source`` (feature version 4): how the candidate stands
    to the context, in words no object or room name enters, so that they hold for the objects of unseen variations.

    For each argument ``i`` of the candidate (a sub-goal's, or the action's as ``match_action`` reads it), with the
    candidate's verb ``v``: ``v|i|room=<is a room>|goal=<all|some|none of its words in the task's first sentence>|
    rest=<... in the rest of the description>`` (``focus_on`` a room, or on the box the answer goes in before the
    object the goal names, are the planner's commonest failures, ``benchmarks/RESULTS.md``), ``v|i|inv=<in the
    inventory>``, ``v|i|prior=<named by a step before>``; then ``v|focuses=<focus steps before, at most 3>``, the same
    joined with the first argument's goal share (which focus comes when), ``v|after=<u>`` for each verb ``u`` of the
    steps before (a stage of the plan: the box after the thermometer is used), and ``v|done=<times the candidate
    was a step before, at most 2>``. The steps before are the completed sub-goals shown (planner) or the actions in
    the history (executor, flat). ``cross_ids`` pairs each token with a global word and with the goal sentence's first
    three words that are not stopwords (``your``, ``task`` and the task's verb: ``measure``, ``find``): one learned
    weight per relation, and one per relation and task verb (the find tasks share theirs).

    ``version`` 5 adds, per argument, three joint tokens: ``v|i|focused=<a step before focused on it>`` (the object
    a find task focused on is the one to pick up and put in the box: the planner put the chair there on test),
    ``v|i|inv=..|prior=..`` (held and named before, at once), and ``v|i|rest=..|focuses=..`` (the room or box the
    description names after its goal comes before or after the focus: the planner went to the box's room first on
    test, where version 4 tells the two apart by neither token alone)."""
    found = relations or _Relations.read(source)
    return list(_relation_strings(_relation_signature(candidate, found, version)))


def _relation_signature(candidate: str, found: _Relations, version: int = 4) -> tuple:
    """What ``relation_tokens`` says of ``candidate``, as a small hashable tuple (candidates share them: cached)."""
    verb, args = _candidate_subgoal(candidate)
    arguments = tuple((arg in ROOMS, _share(words, found.goal), _share(words, found.rest),
                       bool(words) and words <= found.inventory, arg in found.prior,
                       arg in found.focused if version >= 5 else None)
                      for arg, words in ((arg, _content_words(arg)) for arg in args[:2]))  # fmt: skip
    return verb, arguments, min(found.focuses, 3), min(found.before.count(candidate), 2), found.verbs


@functools.lru_cache(maxsize=1 << 14)
def _relation_strings(signature: tuple) -> tuple[str, ...]:
    verb, arguments, focuses, done, verbs = signature
    tokens = []
    for i, (room, goal, rest, inventory, prior, focused) in enumerate(arguments):
        tokens += [f"{verb}|{i}|room={room}|goal={goal}|rest={rest}", f"{verb}|{i}|inv={inventory}",
                   f"{verb}|{i}|prior={prior}"]  # fmt: skip
        if focused is not None:  # version 5
            tokens += [f"{verb}|{i}|focused={focused}", f"{verb}|{i}|inv={inventory}|prior={prior}",
                       f"{verb}|{i}|rest={rest}|focuses={focuses}"]  # fmt: skip
    first_goal = arguments[0][1] if arguments else "none"
    return (*tokens, f"{verb}|focuses={focuses}", f"{verb}|focuses={focuses}|goal={first_goal}", f"{verb}|done={done}",
            *(f"{verb}|after={u}" for u in sorted(verbs)))  # fmt: skip


@functools.lru_cache(maxsize=1 << 14)
def _relation_ids(signature: tuple, keys: tuple[str, ...], buckets: int) -> np.ndarray:
    """The cross-table buckets of a relation signature's tokens, each paired with the global word and ``keys``."""
    tokens = np.fromiter((zlib.crc32(t.encode()) for t in _relation_strings(signature)), dtype=np.uint64)
    with_keys = np.concatenate([_GLOBAL, _goal_hashes(keys)])
    ids = ((tokens[:, None] * np.uint64(0x85EBCA77) + with_keys[None, :]) % np.uint64(buckets)).reshape(-1)
    ids = ids.astype(np.int64)
    ids.flags.writeable = False
    return ids


@functools.lru_cache(maxsize=1 << 12)
def _goal_hashes(words: tuple[str, ...]) -> np.ndarray:
    return np.fromiter((zlib.crc32(f"goal:{word}".encode()) for word in words), dtype=np.uint64, count=len(words))


@functools.lru_cache(maxsize=1 << 12)
def _current_actions(current: str) -> tuple[str, frozenset[str]]:
    """The verb of the sub-goal ``current`` and the actions that carry it out (``sgd_gym.subgoals.expand``; for
    ``navigate_to(r)``: going or teleporting to ``r``); ``('', {})`` when it is not a sub-goal."""
    try:
        subgoal = parse_subgoal(current)
    except SubgoalError:
        return "", frozenset()
    if subgoal.verb == "navigate_to":
        room = unescape_name(subgoal.args[0])
        return subgoal.verb, frozenset({f"go to {room}", f"teleport to {room}"})
    try:
        return subgoal.verb, frozenset(expand(subgoal))
    except (ValueError, KeyError):
        return subgoal.verb, frozenset()


def context_ids(source: str, buckets: int, ngram: int) -> np.ndarray:
    """The hashed n-gram buckets of a context, each field's hashed with the field's name (``hashed_ngram_ids``)."""
    ids = [i for name, text in context_fields(source).items() for i in hashed_ngram_ids(text, buckets, ngram, prefix=name)]
    return np.asarray(ids or [0], dtype=np.int64)


def context_field_ids(source: str, buckets: int, ngram: int) -> list[np.ndarray]:
    """``context_ids`` split by field: one array per field of ``CONTEXT_FIELDS`` (empty where the source lacks the
    field or it has no words), for ``fields`` pooling."""
    fields = context_fields(source)
    return [np.asarray(hashed_ngram_ids(fields[name], buckets, ngram, prefix=name) if name in fields else [],
                       dtype=np.int64) for name in CONTEXT_FIELDS]  # fmt: skip


@functools.lru_cache(maxsize=1 << 17)
def candidate_ids(text: str, buckets: int, ngram: int) -> np.ndarray:
    """The hashed n-gram buckets of one candidate text (prefix ``candidate``), cached: candidates repeat."""
    ids = np.asarray(hashed_ngram_ids(text, buckets, ngram, prefix="candidate") or [0], dtype=np.int64)
    ids.flags.writeable = False
    return ids


def _bag(rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``EmbeddingBag`` inputs (flat ids, offsets) of a list of id arrays."""
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return torch.from_numpy(np.concatenate(rows)), torch.from_numpy(offsets)


@dataclass
class DecisionBatch:
    """Model inputs of B decisions with N_b candidates each, padded to N = max N_b.

    ``context``: per decision, the ``bow`` ids (``(ids, offsets)``) or a ``(B, 384)`` MiniLM matrix; ``candidates``
    likewise over the batch's D distinct candidate texts (row 0: padding); ``index``: ``(B, N)``, the row of each
    candidate; ``features``: ``(B, N, F)``; ``mask``: ``(B, N)``, True on real candidates; ``pairs``: ``(B, N)``, the
    ``verb_pairs`` index of each candidate (feature versions >= 2; None before); ``cross``: ``EmbeddingBag`` inputs
    (ids, offsets) of the ``cross_ids`` of the real candidates in ``mask`` order, decision after decision (feature
    versions >= 3; None before).
    """

    context: Any
    candidates: Any
    features: torch.Tensor
    mask: torch.Tensor
    index: torch.Tensor
    pairs: torch.Tensor | None = None
    cross: tuple[torch.Tensor, torch.Tensor] | None = None


class ScorerNet(nn.Module):
    """The network of ``ScorerPolicy`` (module docstring): ``forward(batch) -> (B, N)`` scores, -inf on padding."""

    def __init__(self, config: ScorerConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        if config.encoder == "bow":
            # sparse gradients: a dense one of the whole table costs most of a training step (measured: 0.5 vs 0.08 s)
            self.embedding = nn.EmbeddingBag(config.buckets, config.dim, mode="mean", sparse=True)
            width = config.dim
        else:
            from sgd_gym.wrappers.text_embedding import MINILM_DIM

            self.embedding = None
            width = MINILM_DIM
        h = config.hidden
        pooled = width * (len(CONTEXT_FIELDS) if config.pooling == "fields" else 1)
        self.state = nn.Sequential(nn.Linear(pooled, h), nn.ReLU(), nn.Linear(h, h))
        self.candidate = nn.Sequential(nn.Linear(width, h), nn.ReLU(), nn.Linear(h, h))
        n_features = len(FEATURE_SETS[config.features])
        # a learned bias per (verb before, candidate verb) pair: into the head's hidden layer, or the score (dot)
        self.pair = nn.Embedding(len(PAIR_VERBS) ** 2, h if config.head == "mlp" else 1) if config.features >= 2 else None
        if self.pair is not None:
            nn.init.zeros_(self.pair.weight)
        # one weight per task-word x candidate-word bucket, summed into the score (feature version >= 3)
        self.cross = nn.EmbeddingBag(CROSS_BUCKETS, 1, mode="sum", sparse=True) if config.features >= 3 else None
        if self.cross is not None:
            nn.init.zeros_(self.cross.weight)
        if config.head == "mlp":
            # The first layer over [s, c, s * c, f] as a sum of four maps, so that the state's and each distinct
            # candidate's parts are computed once, not once per (decision, candidate) pair.
            self.head_state = nn.Linear(h, h)
            self.head_candidate = nn.Linear(h, h, bias=False)
            self.head_product = nn.Linear(h, h, bias=False)
            self.head_features = nn.Linear(n_features, h, bias=False)
            self.head_out = nn.Sequential(nn.ReLU(), nn.Linear(h, 1))
        else:
            self.head_features = nn.Linear(n_features, 1)

    def encode(self, inputs: Any) -> torch.Tensor:
        """``(rows, width)`` encodings of bag inputs (``bow``) or of a ready embedding matrix (``minilm``)."""
        if self.embedding is None:
            return inputs
        ids, offsets = inputs
        return self.embedding(ids, offsets)

    def encode_contexts(self, inputs: Any) -> torch.Tensor:
        """``(B, width)`` (``joint`` pooling) or ``(B, len(CONTEXT_FIELDS) * width)`` (``fields``: the batch's
        inputs hold its B x fields bags, or field embeddings, decision by decision) context encodings."""
        encoded = self.encode(inputs)
        if self.config.pooling == "fields":
            encoded = encoded.reshape(-1, len(CONTEXT_FIELDS) * encoded.shape[-1])
        return encoded

    def forward(self, batch: DecisionBatch) -> torch.Tensor:
        state = self.state(self.encode_contexts(batch.context)).unsqueeze(1)  # (B, 1, H)
        distinct = self.candidate(self.encode(batch.candidates))  # (D, H)
        candidates = distinct[batch.index]  # (B, N, H)
        if self.config.head == "mlp":
            hidden = (self.head_state(state) + self.head_candidate(distinct)[batch.index]
                      + self.head_product(state * candidates) + self.head_features(batch.features))  # fmt: skip
            if self.pair is not None:
                hidden = hidden + self.pair(batch.pairs)
            scores = self.head_out(hidden).squeeze(-1)
        else:
            scores = (state * candidates).sum(-1) + self.head_features(batch.features).squeeze(-1)
            if self.pair is not None:
                scores = scores + self.pair(batch.pairs).squeeze(-1)
        if self.cross is not None:
            scores = scores.masked_scatter(batch.mask, scores[batch.mask] + self.cross(*batch.cross).squeeze(-1))
        return scores.masked_fill(~batch.mask, float("-inf"))


class ScorerError(CheckpointError):
    """A scorer checkpoint or input that cannot be used (the message says why)."""


@dataclass
class ScorerPolicy:
    """A candidate-scoring policy of one kind (``planner``, ``executor`` or ``flat``).

    ``score(source, candidates)`` gives one score per candidate (higher is better); ``propose(source, candidates,
    k)`` the ``k`` best as ``(text, score)`` pairs, best first, the form ``Policy.generate`` returns, so the agents'
    guards and grounding apply unchanged. Candidates are the caller's: the state's sub-goal candidates for the planner
    (``sgd_gym.wrappers.subgoals.subgoal_candidates``), the accepted actions plus ``END_SG`` for the executor, the
    accepted actions for the flat policy.

    Args:
        net: the ``ScorerNet``.
        kind: ``planner``, ``executor`` or ``flat``.
        metadata: training information, saved with the policy (data, dev metrics, the command).
    """

    family: ClassVar[str] = SCORER
    scores_candidates: ClassVar[bool] = True
    net: ScorerNet
    kind: str = "flat"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}, expected one of {list(KINDS)}")
        self.net.eval()
        self._minilm: Any = None
        # (source, candidates) -> (features, verb pairs): set to a dict while training, where the same decisions come
        # back every pass and every dev evaluation; None (the default) at inference, where states do not repeat
        self.feature_cache: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray | None]] | None = None

    @property
    def config(self) -> ScorerConfig:
        return self.net.config

    @property
    def max_source_tokens(self) -> int:
        """The context budget the policy was trained with (agents build their contexts with it)."""
        return self.config.max_source_tokens

    def batch(self, sources: Sequence[str], candidates: Sequence[Sequence[str]]) -> DecisionBatch:
        """The ``DecisionBatch`` of decisions ``(sources[i], candidates[i])``.

        Raises:
            ScorerError: a decision without candidates, or sources and candidate lists of different lengths.
        """
        if len(sources) != len(candidates):
            raise ScorerError(f"{len(sources)} sources but {len(candidates)} candidate lists")
        if not sources or any(len(row) == 0 for row in candidates):
            raise ScorerError("every decision needs at least one candidate to score")
        width, version = max(len(row) for row in candidates), self.config.features
        features = np.zeros((len(sources), width, len(FEATURE_SETS[version])), dtype=np.float32)
        mask = np.zeros((len(sources), width), dtype=bool)
        distinct: dict[str, int] = {"": 0}  # each text encoded once per batch; "" pads
        index = np.zeros((len(sources), width), dtype=np.int64)
        pairs = np.zeros((len(sources), width), dtype=np.int64)
        cross_rows, cross_lengths = [], []
        for i, (source, row) in enumerate(zip(sources, candidates)):
            features[i, : len(row)], row_pairs = self._features(source, row)
            mask[i, : len(row)] = True
            index[i, : len(row)] = [distinct.setdefault(text, len(distinct)) for text in row]
            if row_pairs is not None:
                pairs[i, : len(row)] = row_pairs
            if version >= 3:  # not cached: a planner's would hold millions of ids, and they are cheap to hash again
                ids, lengths = cross_ids(source, row, version=version)
                cross_rows.append(ids)
                cross_lengths.append(lengths)
        cross = None
        if version >= 3:
            lengths = np.concatenate(cross_lengths)
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            cross = torch.from_numpy(np.concatenate(cross_rows)), torch.from_numpy(offsets)
        return DecisionBatch(self._encode_contexts(sources), self._encode_candidates(list(distinct)),
                             torch.from_numpy(features), torch.from_numpy(mask), torch.from_numpy(index),
                             torch.from_numpy(pairs) if version >= 2 else None, cross)  # fmt: skip

    def _features(self, source: str, candidates: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """``candidate_features`` and ``verb_pairs`` (None before version 2) of one decision, through the cache."""
        key = (source, tuple(candidates))
        if self.feature_cache is not None and key in self.feature_cache:
            return self.feature_cache[key]
        version = self.config.features
        found = candidate_features(source, candidates, version), verb_pairs(source, candidates) if version >= 2 else None
        if self.feature_cache is not None:
            self.feature_cache[key] = found
        return found

    def _encode_contexts(self, sources: Sequence[str]) -> Any:
        config = self.config
        if config.encoder == "bow" and config.pooling == "fields":
            return _bag([ids for source in sources for ids in context_field_ids(source, config.buckets, config.ngram)])
        if config.encoder == "bow":
            return _bag([context_ids(source, config.buckets, config.ngram) for source in sources])
        # each field on its own (MiniLM reads 256 word pieces; the fields repeat from state to state, so the cache
        # holds them), then their mean (joint) or, field by field, zeros for a missing one (fields)
        rows = []
        for source in sources:
            fields = context_fields(source)
            if config.pooling == "joint":
                rows.append(self.minilm.encode([f"{name}: {text}" for name, text in fields.items()]).mean(axis=0))
                continue
            present = [name for name in CONTEXT_FIELDS if name in fields]
            encoded = dict(zip(present, self.minilm.encode([f"{name}: {fields[name]}" for name in present])))
            rows.append(np.concatenate([encoded.get(name, np.zeros(self.minilm.dim, np.float32))
                                        for name in CONTEXT_FIELDS]))  # fmt: skip
        return torch.from_numpy(np.stack(rows).astype(np.float32))

    def _encode_candidates(self, texts: Sequence[str]) -> Any:
        config = self.config
        if config.encoder == "bow":
            return _bag([candidate_ids(text, config.buckets, config.ngram) for text in texts])
        return torch.from_numpy(self.minilm.encode(list(texts)))

    @property
    def minilm(self) -> Any:
        """The cached MiniLM encoder (``minilm`` scorers only), loaded on first use."""
        if self._minilm is None:
            from sgd_gym.wrappers.text_embedding import MiniLMEncoder

            self._minilm = MiniLMEncoder(cache_size=1 << 16)
        return self._minilm

    def score(self, source: str, candidates: Sequence[str]) -> np.ndarray:
        """The ``(N,)`` scores of ``candidates`` in the state whose context is ``source``, in their order."""
        with torch.inference_mode():
            return self.net(self.batch([source], [candidates]))[0].numpy().copy()

    def propose(self, source: str, candidates: Sequence[str], k: int = 1) -> list[tuple[str, float]]:
        """The ``k`` best candidates as ``(text, score)``, best first (ties keep the candidates' order).

        Raises:
            ScorerError: no candidates.
        """
        scores = self.score(source, candidates)
        order = np.argsort(-scores, kind="stable")[: max(k, 1)]
        return [(candidates[i], float(scores[i])) for i in order]

    def settings(self) -> dict[str, Any]:
        """What ``sgd_policy.json`` records."""
        return {"kind": self.kind, "family": SCORER, "scorer": asdict(self.config), "max_source_tokens": self.max_source_tokens,
                "metadata": self.metadata}  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Write ``model.safetensors``, a model card and ``sgd_policy.json`` (last: its presence marks a complete
        policy) into the folder ``path``."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / (WEIGHTS + ".tmp")
        save_file({name: tensor.detach().contiguous() for name, tensor in self.net.state_dict().items()}, str(tmp))
        tmp.replace(path / WEIGHTS)
        with_umask(path)
        settings = self.settings()
        atomic_write_text(path / MODEL_CARD, scorer_card(settings))
        atomic_write_text(path / POLICY_FILE, json.dumps(settings, indent=2) + "\n")
        return path

    @classmethod
    def checkpoint_files(cls, path: Path, settings: dict[str, Any]) -> tuple[str, ...]:
        """The files besides ``sgd_policy.json`` of a complete scorer checkpoint: its weights (no tokenizer: a scorer
        hashes words)."""
        return (WEIGHTS,)

    @classmethod
    def load(cls, path: str | Path, device: Any = None) -> ScorerPolicy:
        """Load a folder written by ``save`` (on the CPU, whatever ``device`` says: a scorer is small).

        Raises:
            CheckpointError: the folder is missing, incomplete or holds another family; ``ScorerError`` (one) when
                its weights do not fit its settings.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        settings = read_policy_settings(path)
        if settings.get("family") != SCORER:
            raise ScorerError(f"{path}: holds a {settings.get('family', 'seq2seq')!r} policy, not a scorer one")
        try:
            # saved before feature versions: 1; before pooling was a setting: joint
            config = ScorerConfig(**{"features": 1, "pooling": "joint", **settings["scorer"]})
            net = ScorerNet(config)
            net.load_state_dict(load_file(str(path / WEIGHTS)))
        except (KeyError, TypeError, ValueError, RuntimeError, OSError, SafetensorError) as error:
            raise ScorerError(f"{path}: not a loadable scorer policy ({type(error).__name__}: {error})") from None
        return cls(net=net, kind=settings["kind"], metadata=dict(settings.get("metadata") or {}))


def scorer_card(settings: dict[str, Any]) -> str:
    """The model card (``README.md``) of a saved scorer: family, kind, encoder, data, dev metrics, the command."""
    metadata = settings.get("metadata") or {}
    lines = [f"# sgd-gym {settings['kind']} (scorer)", "",
             f"A candidate-scoring {settings['kind']} policy of sgd-gym (sub-goal distillation on ScienceWorld): "
             "context + the state's candidates -> one score each (`agents.policies.scorer`).", "",
             f"- encoder / head: {settings['scorer']['encoder']} / {settings['scorer']['head']}",
             f"- settings: `{json.dumps(settings['scorer'])}`"]  # fmt: skip
    for key in ("parameters", "data", "decisions", "dev", "train_seconds", "steps", "command"):
        if key in metadata:
            lines.append(f"- {key}: `{json.dumps(metadata[key])}`")
    lines += [
        "",
        "Load it with `agents.policies.load_policy(path)`; evaluate it with `sgd eval` (`--agent flat "
        "--checkpoint`, or `--agent hierarchical --planner --executor`).",
    ]
    return "\n".join(lines) + "\n"
