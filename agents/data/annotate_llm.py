"""``sgd annotate --method llm``: sub-goal segmentation by any OpenAI-compatible chat endpoint.

The model sees the sub-goal vocabulary, a few examples (our ``rules`` annotation of trajectories of
other tasks) and the numbered actions of one trajectory, and answers in the paper's format, one
line per sub-goal::

    1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}
    2- pick_up(thermometer) : {'pick up thermometer'}

The action lists are aligned back to the trajectory by edit distance (a monotonic alignment), so
the annotation is always contiguous and covering, whatever the model skipped or reworded. Answers
are cached on disk, keyed by the request (never the API key), so a re-run costs no call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from agents.data.annotate import annotated_trajectories, rules_segments, validate_segments, write_annotations
from sgd_gym.folders import writer
from sgd_gym.io import DataFileError, atomic_write_text
from sgd_gym.subgoals import (
    PATTERNS,
    ROOMS,
    SPECIAL_VERBS,
    VERBS,
    WAIT_ACTION,
    Subgoal,
    SubgoalError,
    format_subgoal,
    parse_subgoal,
)

logger = logging.getLogger(__name__)

BASE_URL_ENV = "SGD_LLM_BASE_URL"
MODEL_ENV = "SGD_LLM_MODEL"
CACHE_DIR = "llm_cache"
STATS_FILE = "annotations.llm.stats.json"
EXAMPLE_MAX_STEPS = 40  # few-shot examples are cut (at a segment boundary) to keep prompts short
MIN_SIMILARITY = 0.6  # normalised Levenshtein similarity below which a listed action matches no step
MIN_COVERAGE = 0.5  # share of the (non-number) steps an answer must match to be usable

_LINE = re.compile(r"^\s*\d+\s*[-.):]\s*([a-z_]+\s*\([^()]*\))\s*(?::\s*(.*?))?\s*$", re.IGNORECASE)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_BUILT_IN_EXAMPLE = (
    "Your task is to boil water. For compounds without a boiling point, combusting the substance is also acceptable. "
    "First, focus on the substance. Then, take actions that will cause it to change its state of matter.",
    [
        "open door to kitchen",
        "go to kitchen",
        "pick up thermometer",
        "open cupboard",
        "pick up metal pot",
        "move metal pot to sink",
        "activate sink",
        "deactivate sink",
        "pick up metal pot",
        "focus on substance in metal pot",
        "move metal pot to stove",
        "activate stove",
        "examine substance in metal pot",
        "use thermometer in inventory on substance in metal pot",
        "wait1",
        "wait1",
        "wait1",
        "examine steam",
    ],
)
_VERB_NOTES = {
    "heat": "Y is a heating device",
    "cool": "Y is a cooling device: fridge, freezer",
    "put": "Y is any other container or place",
    "act": "any single action X, verbatim, that no other verb covers",
}


class LLMError(RuntimeError):
    """The chat endpoint could not be reached or answered with an error."""


@dataclass(frozen=True)
class LLMConfig:
    """Where to send chat requests; the key is kept out of ``repr`` so it never reaches a log."""

    base_url: str
    model: str
    api_key: str = field(repr=False)

    @property
    def endpoint(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"


def resolve_config(base_url: str | None = None, model: str | None = None, api_key_env: str = "OPENAI_API_KEY") -> LLMConfig:
    """Arguments, else ``$SGD_LLM_BASE_URL`` / ``$SGD_LLM_MODEL``; the key from the env var named ``api_key_env``.

    Raises:
        ValueError: naming the env var to set when a setting is missing.
    """
    base_url = base_url or os.environ.get(BASE_URL_ENV, "")
    model = model or os.environ.get(MODEL_ENV, "")
    if not base_url:
        raise ValueError(f"no LLM base URL: set ${BASE_URL_ENV} (e.g. https://api.openai.com/v1) or pass base_url")
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"LLM base URL must start with http:// or https://, got {base_url!r} (from base_url or ${BASE_URL_ENV})")
    if not model:
        raise ValueError(f"no LLM model: set ${MODEL_ENV} or pass model")
    if not api_key_env:
        raise ValueError("api_key_env must name the environment variable holding the API key")
    api_key = os.environ.get(api_key_env, "")
    if not api_key:
        raise ValueError(f"no API key: set ${api_key_env} (or name another variable with api_key_env)")
    return LLMConfig(base_url, model, api_key)


# ------------------------------------------------------------------ prompt
def _verb_lines(max_steps: int) -> list[str]:
    names = ("X", "Y")
    lines = []
    for verb, arity in VERBS.items():
        if verb in SPECIAL_VERBS:
            continue
        args = ", ".join(names[:arity])
        meaning = " then ".join(f"'{template.format(*names)}'" for template in PATTERNS[verb])
        note = f"; {_VERB_NOTES[verb]}" if verb in _VERB_NOTES else ""
        lines.append(f"- {verb}({args}): {meaning}{note}")
    lines += [
        f"- navigate_to(room): the 'open door to ...' / 'go to ...' actions that lead to room, one of: {', '.join(ROOMS)}",
        f"- wait(n): '{WAIT_ACTION}' n times (n at most {max_steps}; split longer runs)",
        f"- watch(X, n): 'look at X' n times (n at most {max_steps})",
    ]
    return lines


def system_prompt(max_steps: int = 10) -> str:
    """The instructions: the sub-goal vocabulary and the paper's answer format."""
    return "\n".join(
        [
            "You segment an expert's trajectory in the ScienceWorld text game into sub-goals.",
            "A sub-goal is written verb(arguments); arguments are object or room names copied from the actions,",
            "lowercase, without commas or parentheses. The verbs and the primitive actions they stand for:",
            *_verb_lines(max_steps),
            "",
            "Answer with one line per sub-goal, in the order of the trajectory, numbered from 1: the sub-goal, a colon,",
            "then the set of primitive actions it covers, copied verbatim and in order, e.g.",
            "1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}",
            "Every action of the trajectory belongs to exactly one sub-goal; a bare number (the answer to the game's",
            "ambiguity question) belongs to the sub-goal before it. Write nothing else.",
        ]
    )


def user_prompt(task_description: str, actions: list[str]) -> str:
    """The task description and the numbered primitive actions of one trajectory."""
    numbered = "\n".join(f"{i}. {action}" for i, action in enumerate(actions, 1))
    return f"Task: {task_description.strip()}\nActions:\n{numbered}"


def format_answer(actions: list[str], segments: list[dict[str, Any]]) -> str:
    """Segments ``[{text, start, end}]`` in the paper's answer format (used for the few-shot examples)."""
    lines = []
    for number, segment in enumerate(segments, 1):
        covered = ", ".join(repr(action) for action in actions[segment["start"] : segment["end"]])
        lines.append(f"{number}- {segment['text']} : {{{covered}}}")
    return "\n".join(lines)


def _example(task_description: str, actions: list[str], max_steps: int) -> list[dict[str, str]]:
    segments = rules_segments(actions, max_steps)
    kept = [segment for segment in segments if segment["end"] <= EXAMPLE_MAX_STEPS] or segments[:1]
    actions = actions[: kept[-1]["end"]]
    return [
        {"role": "user", "content": user_prompt(task_description, actions)},
        {"role": "assistant", "content": format_answer(actions, kept)},
    ]


def few_shot_messages(trajectories: list[dict[str, Any]], task: str, few_shot: int, max_steps: int = 10) -> list[dict[str, str]]:
    """Example exchanges from the first ``few_shot`` trajectories of other tasks (one per task first).

    Falls back to a small built-in example when the data holds no other task.
    """
    if few_shot <= 0:
        return []
    others = [t for t in trajectories if t["task"] != task and t["steps"]]
    chosen, seen = [], set()
    for trajectory in others:  # distinct tasks first, then the rest in data order
        if trajectory["task"] not in seen and len(chosen) < few_shot:
            chosen.append(trajectory)
            seen.add(trajectory["task"])
    taken = {id(t) for t in chosen}
    chosen += [t for t in others if id(t) not in taken][: few_shot - len(chosen)]
    if not chosen:
        return _example(*_BUILT_IN_EXAMPLE, max_steps)
    messages = []
    for trajectory in chosen:
        messages += _example(trajectory["task_description"], [step["action"] for step in trajectory["steps"]], max_steps)
    return messages


# ------------------------------------------------------------------ parsing and alignment
def parse_answer(text: str) -> list[tuple[str, list[str]]]:
    """``[(sub-goal text, [listed actions])]`` from an answer; lines not numbered like ``1- ...`` are ignored.

    Raises:
        SubgoalError: a numbered line whose sub-goal is not valid, or no sub-goal line at all.
    """
    parsed = []
    for line in text.splitlines():
        found = _LINE.match(line.strip().strip("`"))
        if not found:
            continue
        subgoal = format_subgoal(parse_subgoal(found.group(1).lower()))
        listed = (found.group(2) or "").strip()
        if listed.startswith("{") and listed.endswith("}"):
            listed = listed[1:-1]
        quoted = [(single if single or not double else double) for single, double in _QUOTED.findall(listed)]
        actions = quoted if quoted else [part.strip() for part in listed.split(",") if part.strip()]
        parsed.append((subgoal, [action.replace("\\'", "'").replace('\\"', '"').strip() for action in actions]))
    if not parsed:
        raise SubgoalError("no line of the form '1- verb(args) : {'action', ...}' in the answer")
    return parsed


def _bare_number(action: str) -> bool:
    return action.strip().isdigit()


def align(actions: list[str], answer: list[tuple[str, list[str]]], max_steps: int = 10) -> list[dict[str, Any]]:
    """Contiguous, covering segments ``[{text, start, end}]`` of ``actions`` from a parsed answer.

    The listed actions, in order, are aligned to the steps by a monotonic alignment maximising the
    summed edit-distance similarity. Steps no listed action matched join a neighbouring segment (the
    one whose listed actions they resemble more), bare numbers always the one before; sub-goals that
    matched no step are dropped; ``wait(n)``/``watch(x, n)`` segments get their count from the steps
    they cover (cut into pieces of ``max_steps``).

    Raises:
        ValueError: the listed actions of their sub-goals cover fewer than ``MIN_COVERAGE`` of the steps.
    """
    listed = [(k, action) for k, (_, listed_actions) in enumerate(answer) for action in listed_actions]
    n, m = len(actions), len(listed)
    if n == 0:
        raise ValueError("the trajectory has no steps")
    if m == 0:
        raise ValueError("the answer lists no actions")
    similarity = process.cdist(actions, [a for _, a in listed], scorer=Levenshtein.normalized_similarity)
    # score[i][j]: best summed gain aligning actions[:i] with listed[:j]; a match gains sim - 0.5 so that one
    # exact match beats two mediocre ones.
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, previous = score[i], score[i - 1]
        for j in range(1, m + 1):
            best = max(previous[j], row[j - 1])
            sim = similarity[i - 1][j - 1]
            if sim >= MIN_SIMILARITY and previous[j - 1] + sim - 0.5 > best:
                best = previous[j - 1] + sim - 0.5
            row[j] = best
    labels: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        sim = similarity[i - 1][j - 1]
        if sim >= MIN_SIMILARITY and abs(score[i][j] - (score[i - 1][j - 1] + sim - 0.5)) < 1e-9:
            labels[i - 1] = listed[j - 1][0]
            i, j = i - 1, j - 1
        elif score[i][j] == score[i - 1][j]:
            i -= 1
        else:
            j -= 1
    if all(label is None for label in labels):
        raise ValueError("the listed actions match none of the actions of the trajectory")
    _fill(labels, listed, similarity)
    # a step counts as covered when its sub-goal lists it (or its twin: one 'wait1' for a run of them);
    # an answer that stops early leaves the rest to its last sub-goal, uncovered.
    countable = [i for i in range(n) if not _bare_number(actions[i])] or list(range(n))
    covered = sum(1 for i in countable if _resemblance(listed, similarity, i, labels[i]) >= MIN_SIMILARITY)
    if covered < MIN_COVERAGE * len(countable):
        raise ValueError(f"the listed actions cover only {covered} of the {len(countable)} actions of the trajectory")
    for i in range(1, n):  # the answer to an ambiguity question belongs with the action that asked it
        if _bare_number(actions[i]):
            labels[i] = labels[i - 1]
    segments: list[dict[str, Any]] = []
    for i, label in enumerate(labels):
        if segments and segments[-1]["label"] == label:
            segments[-1]["end"] = i + 1
        else:
            segments.append({"label": label, "text": answer[label][0], "start": i, "end": i + 1})
    result = []
    for segment in segments:
        result += _recount(actions, {"text": segment["text"], "start": segment["start"], "end": segment["end"]}, max_steps)
    return result


def _resemblance(listed: list[tuple[int, str]], similarity: Any, step: int, label: int) -> float:
    """The best similarity of a step to the actions listed under sub-goal ``label``."""
    return max((similarity[step][j] for j, (k, _) in enumerate(listed) if k == label), default=0.0)


def _fill(labels: list[int | None], listed: list[tuple[int, str]], similarity: Any) -> None:
    """Give each unmatched step the label of a matched neighbour, keeping labels non-decreasing."""

    n, i = len(labels), 0
    while i < n:
        if labels[i] is not None:
            i += 1
            continue
        end = i
        while end < n and labels[end] is None:
            end += 1
        before = labels[i - 1] if i > 0 else None
        after = labels[end] if end < n else None
        if before is None or after is None:
            for k in range(i, end):
                labels[k] = before if before is not None else after
        else:  # split the gap where the steps stop resembling `before` and start resembling `after`
            gains = [
                _resemblance(listed, similarity, k, before) - _resemblance(listed, similarity, k, after) for k in range(i, end)
            ]
            cut = max(range(end - i + 1), key=lambda c: (sum(gains[:c]), c))
            for k in range(i, end):
                labels[k] = before if k - i < cut else after
        i = end


def _recount(actions: list[str], segment: dict[str, Any], max_steps: int) -> list[dict[str, Any]]:
    """``wait(n)``/``watch(x, n)`` whose steps are all the repeated action: n from the steps, cut at ``max_steps``."""
    subgoal = parse_subgoal(segment["text"])
    if subgoal.verb not in ("wait", "watch"):
        return [segment]
    repeated = WAIT_ACTION if subgoal.verb == "wait" else f"look at {subgoal.args[0]}"
    steps = actions[segment["start"] : segment["end"]]
    if any(action != repeated for action in steps):
        return [segment]
    pieces = []
    for start in range(segment["start"], segment["end"], max_steps):
        end = min(start + max_steps, segment["end"])
        text = format_subgoal(Subgoal(subgoal.verb, (*subgoal.args[:-1], str(end - start))))
        pieces.append({"text": text, "start": start, "end": end})
    return pieces


# ------------------------------------------------------------------ the endpoint and its cache
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})  # rate limits and passing server trouble
MAX_BACKOFF = 30.0  # seconds


class _RetryableAnswer(Exception):
    """An HTTP answer worth asking again for (``RETRIED_STATUS``)."""

    def __init__(self, response: Any) -> None:
        super().__init__(response.status_code)
        self.response = response


class ChatClient:
    """POSTs chat requests to an OpenAI-compatible endpoint, with an on-disk cache, retries and usage counts.

    Args:
        config: endpoint, model and key.
        cache_dir: the answer cache.
        timeout: seconds per request.
        temperature: sampling temperature (0: the cache gives back what the endpoint would).
        attempts: tries per request; 429/5xx answers and transport errors are retried.
        backoff: seconds before the first retry, doubled each time (capped at ``MAX_BACKOFF``; ``Retry-After`` wins).
    """

    def __init__(
        self, config: LLMConfig, cache_dir: str | Path, timeout: float = 60.0, temperature: float = 0.0, attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:  # fmt: skip
        self.config, self.cache_dir, self.timeout, self.temperature = config, Path(cache_dir), timeout, temperature
        self.attempts, self.backoff = attempts, backoff
        self.stats: dict[str, Any] = {
            "http_retries": 0,
            "calls": 0,
            "cache_hits": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "cached_tokens": 0,  # what the cached answers cost when they were asked
            "tokens_estimated": False,
        }

    def cache_key(self, messages: list[dict[str, str]]) -> str:
        """sha256 of (base URL, model, messages, temperature): the key plays no part."""
        config = self.config
        request = {"base_url": config.base_url, "model": config.model, "messages": messages, "temperature": self.temperature}
        return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant's answer to ``messages``, from the cache when it holds one."""
        path = self.cache_dir / f"{self.cache_key(messages)}.json"
        if path.exists():
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
                content = entry["content"]
                if isinstance(content, str):
                    self.stats["cache_hits"] += 1
                    usage = entry.get("usage") if isinstance(entry.get("usage"), dict) else {}
                    self.stats["cached_tokens"] += int(usage.get("total_tokens", 0) or 0)
                    return content
            except (json.JSONDecodeError, KeyError, TypeError):
                logger.warning("%s: unreadable cache entry, asking the endpoint again", path)
        content, usage = self._post(messages)
        self.stats["calls"] += 1
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            self.stats[name] += usage[name]
        self.stats["tokens_estimated"] = self.stats["tokens_estimated"] or usage["estimated"]
        atomic_write_text(path, json.dumps({"model": self.config.model, "content": content, "usage": usage}, ensure_ascii=False))
        return content

    def _redact(self, text: str) -> str:
        return text.replace(self.config.api_key, "***") if self.config.api_key else text

    def _send(self, endpoint: str, body: dict[str, Any]) -> Any:
        """POST ``body``; 429 and 5xx answers and transport errors are retried with exponential backoff (honouring
        ``Retry-After``), at most ``attempts`` times in all (``httpx`` for HTTP, ``tenacity`` for the retries)."""
        import httpx
        import tenacity

        headers = {"Authorization": f"Bearer {self.config.api_key}"}

        def attempt() -> httpx.Response:
            response = httpx.post(endpoint, json=body, headers=headers, timeout=self.timeout)
            if response.status_code in RETRIED_STATUS:
                raise _RetryableAnswer(response)
            return response

        def wait(state: tenacity.RetryCallState) -> float:
            backoff = self.backoff * 2 ** (state.attempt_number - 1)
            error = state.outcome.exception() if state.outcome is not None else None
            header = error.response.headers.get("Retry-After", "") if isinstance(error, _RetryableAnswer) else ""
            return min(MAX_BACKOFF, max(backoff, float(header) if header.replace(".", "", 1).isdigit() else 0.0))

        def count(state: tenacity.RetryCallState) -> None:
            self.stats["http_retries"] += 1

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_RetryableAnswer, httpx.TransportError)),
            wait=wait, stop=tenacity.stop_after_attempt(self.attempts), before_sleep=count, reraise=True,
        )  # fmt: skip
        try:
            return retrying(attempt)
        except _RetryableAnswer as error:  # still failing after the last attempt: reported below
            return error.response

    def _post(self, messages: list[dict[str, str]]) -> tuple[str, dict[str, Any]]:
        import httpx

        endpoint = self.config.endpoint
        body = {"model": self.config.model, "messages": messages, "temperature": self.temperature}
        try:
            response = self._send(endpoint, body)
        except httpx.ConnectError as error:
            refused = "refused" in str(error).lower() or isinstance(error.__cause__, ConnectionRefusedError)
            why = "connection refused (is the server running, and is $SGD_LLM_BASE_URL right?)" if refused else str(error)
            raise LLMError(f"could not reach {endpoint}: {self._redact(why)}") from None
        except httpx.TimeoutException:
            raise LLMError(f"could not reach {endpoint}: no answer within {self.timeout:g} s") from None
        except httpx.TransportError as error:  # a connection reset or closed mid-answer
            raise LLMError(f"could not reach {endpoint}: {self._redact(str(error))}") from None
        if response.status_code >= 400:
            detail = self._redact(response.text[:300].strip())
            attempts = f" (after {self.attempts} attempts)" if response.status_code in RETRIED_STATUS else ""
            raise LLMError(
                f"{endpoint} answered HTTP {response.status_code} {response.reason_phrase}{attempts}: {detail or '(no body)'}"
            )
        raw = response.content
        try:
            data = json.loads(raw)
            content = data["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError(f"content is {type(content).__name__}")
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as error:
            raise LLMError(f"{endpoint} answered something that is not a chat completion ({error})") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        if usage and all(isinstance(usage.get(k), int) for k in ("prompt_tokens", "completion_tokens")):
            prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
            total = usage["total_tokens"] if isinstance(usage.get("total_tokens"), int) else prompt + completion
            return content, {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total, "estimated": False}
        prompt = sum(len(message["content"]) for message in messages) // 4  # ~4 characters a token
        completion = len(content) // 4
        total = prompt + completion
        return content, {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total, "estimated": True}


# ------------------------------------------------------------------ the annotator
def _trajectory_id(key: tuple[str, str, int]) -> str:
    return f"{key[0]}.{key[1]}.{key[2]}"


def annotate_trajectory(
    client: ChatClient, trajectory: dict[str, Any], examples: list[dict[str, str]], max_retries: int = 2, max_steps: int = 10
) -> tuple[list[dict[str, Any]] | None, int, str]:
    """Ask for one trajectory's segmentation, retrying invalid answers with a corrective message.

    Returns:
        ``(segments or None, retries used, the last problem or '')``.
    """
    actions = [step["action"] for step in trajectory["steps"]]
    messages = [
        {"role": "system", "content": system_prompt(max_steps)},
        *examples,
        {"role": "user", "content": user_prompt(trajectory["task_description"], actions)},
    ]
    problem = ""
    for attempt in range(max_retries + 1):
        answer = client.complete(messages)
        try:
            segments = align(actions, parse_answer(answer), max_steps)
            validate_segments(segments, len(actions), "answer")
            return segments, attempt, ""
        except (ValueError, DataFileError) as error:  # SubgoalError is a ValueError
            problem = str(error)
        messages = [
            *messages,
            {"role": "assistant", "content": answer},
            {
                "role": "user",
                "content": f"That answer could not be used: {problem}. Answer again, only with lines like "
                "1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}, using only the verbs above, "
                "covering every action in order.",
            },
        ]
    return None, max_retries, problem


def annotate_llm(
    data: str | Path,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    cache_dir: str | Path | None = None,
    few_shot: int = 2,
    max_retries: int = 2,
    timeout: float = 60.0,
    temperature: float = 0.0,
    max_steps: int = 10,
) -> dict[str, Any]:
    """Annotate every trajectory of ``data`` with an LLM; writes ``annotations.llm.jsonl`` and its stats.

    A trajectory whose answer stays invalid (no valid sub-goal line, an unknown verb or room, or
    action lists that match too few steps) after ``max_retries`` corrective retries is listed in
    ``failed`` and left out of the annotations: there is no fallback (use ``--method rules`` for
    those). Answers are cached under ``cache_dir`` (default ``DATA/llm_cache/``), one file per
    request, so a re-run replays them without calls (a failure included: delete its entry to ask
    again). The API key is sent only in the ``Authorization`` header, never written or logged.

    Args:
        data: the data folder holding ``trajectories.jsonl``.
        base_url: the endpoint's base URL (``POST {base_url}/chat/completions``); default ``$SGD_LLM_BASE_URL``.
        model: the model name; default ``$SGD_LLM_MODEL``.
        api_key_env: the environment variable holding the API key.
        cache_dir: where answers are cached.
        few_shot: how many example trajectories (of other tasks) the prompt shows.
        max_retries: corrective retries of an invalid answer.
        timeout: seconds to wait for one answer.
        temperature: sampling temperature sent to the endpoint.
        max_steps: the longest ``wait``/``watch`` segment.

    Returns:
        ``{calls, cache_hits, prompt_tokens, completion_tokens, total_tokens, tokens_estimated, retries,
        failed: ["task.split.variation", ...], errors: {id: problem}, records}``: the tokens of this
        run's calls (estimated as characters / 4 when the endpoint reports no ``usage``) and the
        number of records written.

    Raises:
        ValueError: base URL, model or key missing (naming the env var to set).
        LLMError: (a RuntimeError) the endpoint is unreachable or answers with an HTTP error.
    """
    config = resolve_config(base_url, model, api_key_env)
    with writer(data):
        trajectories = list(annotated_trajectories(data).values())
        client = ChatClient(config, Path(data) / CACHE_DIR if cache_dir is None else cache_dir, timeout, temperature)
        examples_by_task: dict[str, list[dict[str, str]]] = {}
        records, failed, errors, retries = [], [], {}, 0
        for trajectory in trajectories:
            key = (trajectory["task"], trajectory["split"], int(trajectory["variation"]))
            if not trajectory["steps"]:
                failed.append(_trajectory_id(key))
                errors[_trajectory_id(key)] = "the trajectory has no steps"
                continue
            if key[0] not in examples_by_task:
                examples_by_task[key[0]] = few_shot_messages(trajectories, key[0], few_shot, max_steps)
            segments, used, problem = annotate_trajectory(client, trajectory, examples_by_task[key[0]], max_retries, max_steps)
            retries += used
            if segments is None:
                failed.append(_trajectory_id(key))
                errors[_trajectory_id(key)] = problem
                logger.warning("%s: no usable answer after %d retries (%s); left out", _trajectory_id(key), max_retries, problem)
                continue
            records.append({"task": key[0], "split": key[1], "variation": key[2], "subgoals": segments})
        write_annotations(data, "llm", records, left_out=failed)
        stats = {**client.stats, "retries": retries, "failed": failed, "errors": errors, "records": len(records)}
        atomic_write_text(Path(data) / STATS_FILE, json.dumps(stats, indent=2) + "\n")
        return stats
