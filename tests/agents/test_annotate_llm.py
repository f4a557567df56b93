"""The llm annotator against a fake OpenAI-compatible endpoint on loopback (no JVM, no network)."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.data.annotate import annotation_path, validate_segments
from agents.data.annotate_llm import (
    STATS_FILE,
    ChatClient,
    LLMConfig,
    align,
    annotate_llm,
    few_shot_messages,
    parse_answer,
    resolve_config,
)
from sgd_gym.io import read_jsonl, write_jsonl
from sgd_gym.subgoals import VERBS, SubgoalError, parse_subgoal

API_KEY = "sk-test-SECRET-do-not-write-7f3a9c"
BOIL = [
    "open door to kitchen",
    "go to kitchen",
    "pick up thermometer",
    "focus on substance in metal pot",
    "move metal pot to stove",
    "0",
    "activate stove",
    "wait1",
    "wait1",
    "wait1",
    "use thermometer in inventory on substance in metal pot",
]
MELT = [
    "open door to hallway",
    "go to hallway",
    "open door to kitchen",
    "go to kitchen",
    "open freezer",
    "pick up ice cube",
    "focus on ice cube",
    "move ice cube to stove",
    "activate stove",
    "wait1",
    "wait1",
]
FREEZE = ["open door to kitchen", "go to kitchen", "pick up cup", "focus on water in cup", "move cup to freezer", "wait1"]
GARBAGE = "Sure! The expert boiled some water, I think. Hope this helps."


# ------------------------------------------------------------------ data
def trajectory(task: str, actions: list[str], description: str) -> dict:
    """A record in the format of agents/data/collect.py."""
    steps, score = [], 0
    for action in actions:
        reward = 5 if action.startswith("focus on") else 0
        score += reward
        steps.append(
            {
                "action": action,
                "observation": f"You did: {action}.",
                "look": "This room is called the kitchen. In it, you see: a stove.",
                "inventory": "In your inventory, you see: an orange.",
                "score": score,
                "reward": reward,
            }
        )
    return {
        "task": task,
        "split": "train",
        "variation": 0,
        "variation_id": 3,
        "simplifications": "easy",
        "task_description": description,
        "initial": {
            "observation": "You are in the hallway.",
            "look": "This room is called the hallway.",
            "inventory": "",
            "score": 0,
        },
        "steps": steps,
        "final_score": score,
        "completed": False,
    }


TRAJECTORIES = {
    "boil": trajectory("boil", BOIL, "Your task is to boil water. First, focus on the substance."),
    "melt": trajectory("melt", MELT, "Your task is to melt ice. First, focus on the substance."),
    "freeze": trajectory("freeze", FREEZE, "Your task is to freeze water. First, focus on the substance."),
}


def make_data(tmp_path: Path, tasks: tuple[str, ...] = ("boil", "melt")) -> Path:
    data = tmp_path / "data"
    write_jsonl(data / "trajectories.jsonl", [TRAJECTORIES[task] for task in tasks])
    return data


# ------------------------------------------------------------------ the fake endpoint
def canned_answer(actions: list[str]) -> str:
    """A rule unlike the rules annotator: lists one 'wait1' per run, omits bare numbers, rewords pick-ups."""
    lines: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(actions):
        action = actions[i]
        door = re.match(r"open door to (.+)", action)
        if door and i + 1 < len(actions) and actions[i + 1] == f"go to {door.group(1)}":
            if lines and lines[-1][0].startswith("navigate_to("):
                lines[-1] = (f"navigate_to({door.group(1)})", lines[-1][1] + [action, actions[i + 1]])
            else:
                lines.append((f"navigate_to({door.group(1)})", [action, actions[i + 1]]))
            i += 2
            continue
        if action == "wait1":
            j = i
            while j < len(actions) and actions[j] == "wait1":
                j += 1
            lines.append((f"wait({j - i})", ["wait1"]))
            i = j
            continue
        if action.isdigit():
            i += 1
            continue
        for pattern, verb in (
            (r"pick up (.+)", "pick_up({0})"),
            (r"focus on (.+)", "focus_on({0})"),
            (r"move (.+?) to (.+)", "put({0}, {1})"),
            (r"activate (.+)", "activate({0})"),
            (r"open (.+)", "open({0})"),
            (r"use (.+?) on (.+)", "use({0}, {1})"),
        ):
            found = re.fullmatch(pattern, action)
            if found:
                listed = f"pick up the {found.group(1)}" if verb.startswith("pick_up") else action
                lines.append((verb.format(*found.groups()), [listed]))
                break
        else:
            lines.append((f"act({action})", [action]))
        i += 1
    return "\n".join(f"{n}- {text} : {{{', '.join(repr(a) for a in listed)}}}" for n, (text, listed) in enumerate(lines, 1))


class FakeEndpoint:
    """Records requests; answers by mode, chosen by a word of the task description (default: a good answer)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.modes: dict[str, str] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def requests_for(self, word: str) -> list[dict]:
        return [r for r in self.requests if word in self.trajectory_message(r["body"]["messages"])]

    @staticmethod
    def trajectory_message(messages: list[dict]) -> str:
        return [m["content"] for m in messages if m["role"] == "user" and m["content"].startswith("Task:")][-1]

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, payload: dict | str) -> None:
                body = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                messages = body["messages"]
                task = endpoint.trajectory_message(messages)
                retry = messages[-1]["content"] != task
                mode = next((m for word, m in endpoint.modes.items() if word in task), "good")
                if mode == "error500":  # echoes the header: the annotator must not repeat the key
                    return self._send(500, {"error": {"message": f"internal error for {self.headers.get('Authorization')}"}})
                if mode == "rate-limited-once" and len(endpoint.requests_for(task.split("\n")[0])) == 1:
                    return self._send(429, {"error": {"message": "slow down"}})
                if mode == "garbage-always" or (mode == "garbage-once" and not retry):
                    content = GARBAGE
                else:
                    actions = [line.split(". ", 1)[1] for line in task.split("Actions:\n", 1)[1].splitlines()]
                    content = canned_answer(actions)
                response = {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"]}
                response["choices"] = [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ]
                if mode != "no-usage":
                    response["usage"] = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
                return self._send(200, response)

        return Handler


@pytest.fixture
def endpoint(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    fake = FakeEndpoint()
    fake.thread.start()
    monkeypatch.setenv("SGD_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("SGD_LLM_MODEL", "fake-model")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(timeout=5)


def assert_key_written_nowhere(data: Path) -> None:
    files = [path for path in data.rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert API_KEY.encode() not in path.read_bytes(), f"the API key was written to {path}"


# ------------------------------------------------------------------ the annotator
def test_annotations_written_contiguous_and_counted(tmp_path, endpoint):
    data = make_data(tmp_path)
    stats = annotate_llm(data)

    records = read_jsonl(annotation_path(data, "llm"))
    assert [(r["task"], r["split"], r["variation"]) for r in records] == [("boil", "train", 0), ("melt", "train", 0)]
    for record in records:
        steps = len(TRAJECTORIES[record["task"]]["steps"])
        validate_segments(record["subgoals"], steps, record["task"])
        for segment in record["subgoals"]:
            parse_subgoal(segment["text"])
    boil = [(s["text"], s["start"], s["end"]) for s in records[0]["subgoals"]]
    assert boil == [
        ("navigate_to(kitchen)", 0, 2),
        ("pick_up(thermometer)", 2, 3),  # "pick up the thermometer" aligned by edit distance
        ("focus_on(substance in metal pot)", 3, 4),
        ("put(metal pot, stove)", 4, 6),  # the bare number joins the segment before it
        ("activate(stove)", 6, 7),
        ("wait(3)", 7, 10),  # one 'wait1' listed, the omitted ones join it
        ("use(thermometer in inventory, substance in metal pot)", 10, 11),
    ]
    melt = [(s["text"], s["start"], s["end"]) for s in records[1]["subgoals"]]
    assert melt[0] == ("navigate_to(kitchen)", 0, 4) and melt[-1] == ("wait(2)", 9, 11)

    assert stats["calls"] == 2 and stats["cache_hits"] == 0 and stats["retries"] == 0
    assert (stats["prompt_tokens"], stats["completion_tokens"], stats["total_tokens"]) == (200, 40, 240)
    assert stats["tokens_estimated"] is False
    assert stats["failed"] == [] and stats["records"] == 2
    assert json.loads((data / STATS_FILE).read_text()) == stats

    assert len(endpoint.requests) == 2
    for request in endpoint.requests:
        assert request["path"] == "/v1/chat/completions"
        assert request["authorization"] == f"Bearer {API_KEY}"
        assert request["body"]["model"] == "fake-model" and request["body"]["temperature"] == 0.0
        system = request["body"]["messages"][0]
        assert system["role"] == "system"
        assert all(f"{verb}(" in system["content"] for verb in VERBS)
        assert "1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}" in system["content"]
    # the boil prompt shows the melt trajectory (another task) as a worked example, in the answer format
    boil_messages = endpoint.requests_for("boil water")[0]["body"]["messages"]
    assert [m["role"] for m in boil_messages] == ["system", "user", "assistant", "user"]
    assert "melt ice" in boil_messages[1]["content"]
    assert boil_messages[2]["content"].startswith("1- navigate_to(kitchen) : {'open door to hallway', 'go to hallway', ")
    assert "11. use thermometer in inventory on substance in metal pot" in boil_messages[3]["content"]
    assert_key_written_nowhere(data)


def test_rerun_is_served_from_the_cache(tmp_path, endpoint):
    data = make_data(tmp_path)
    annotate_llm(data)
    first = annotation_path(data, "llm").read_text()
    assert len(list((data / "llm_cache").glob("*.json"))) == 2

    stats = annotate_llm(data)
    assert stats["calls"] == 0 and stats["cache_hits"] == 2 and stats["total_tokens"] == 0
    assert len(endpoint.requests) == 2
    assert annotation_path(data, "llm").read_text() == first

    other = tmp_path / "elsewhere"
    stats = annotate_llm(data, cache_dir=other, model="another-model")
    assert stats["calls"] == 2 and len(list(other.glob("*.json"))) == 2


def test_malformed_answer_is_retried_and_counted(tmp_path, endpoint):
    data = make_data(tmp_path)
    endpoint.modes = {"melt ice": "garbage-once"}
    stats = annotate_llm(data)

    assert stats["calls"] == 3 and stats["retries"] == 1
    assert stats["failed"] == [] and stats["records"] == 2
    assert stats["total_tokens"] == 360
    first, retry = endpoint.requests_for("melt ice")
    assert retry["body"]["messages"][: len(first["body"]["messages"])] == first["body"]["messages"]
    assert retry["body"]["messages"][-2] == {"role": "assistant", "content": GARBAGE}
    assert retry["body"]["messages"][-1]["content"].startswith("That answer could not be used")

    again = annotate_llm(data)  # the whole exchange, retry included, comes from the cache
    assert again["calls"] == 0 and again["cache_hits"] == 3 and again["retries"] == 1 and again["records"] == 2
    assert_key_written_nowhere(data)


def test_always_garbage_trajectory_is_reported_and_left_out(tmp_path, endpoint):
    data = make_data(tmp_path, ("boil", "melt", "freeze"))
    endpoint.modes = {"melt ice": "garbage-always"}
    stats = annotate_llm(data, max_retries=2)

    assert stats["failed"] == ["melt.train.0"]
    assert "melt.train.0" in stats["errors"] and stats["records"] == 2
    assert stats["calls"] == 1 + 3 + 1 and stats["retries"] == 2
    assert len(endpoint.requests_for("melt ice")) == 3
    records = read_jsonl(annotation_path(data, "llm"))
    assert [r["task"] for r in records] == ["boil", "freeze"]
    assert json.loads((data / STATS_FILE).read_text())["failed"] == ["melt.train.0"]
    assert_key_written_nowhere(data)


def test_missing_usage_is_estimated(tmp_path, endpoint):
    data = make_data(tmp_path)
    endpoint.modes = {"boil": "no-usage", "melt": "no-usage"}
    stats = annotate_llm(data)
    assert stats["tokens_estimated"] is True
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0
    assert stats["total_tokens"] == stats["prompt_tokens"] + stats["completion_tokens"]


# ------------------------------------------------------------------ errors
def test_missing_config_names_the_variable(tmp_path, monkeypatch):
    data = make_data(tmp_path)
    for name in ("SGD_LLM_BASE_URL", "SGD_LLM_MODEL", "OPENAI_API_KEY", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="SGD_LLM_BASE_URL"):
        annotate_llm(data)
    monkeypatch.setenv("SGD_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="SGD_LLM_MODEL"):
        annotate_llm(data)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        annotate_llm(data, model="m")
    with pytest.raises(ValueError, match="MY_KEY"):
        annotate_llm(data, model="m", api_key_env="MY_KEY")
    with pytest.raises(ValueError, match="http"):
        resolve_config("127.0.0.1:9", "m")
    assert not annotation_path(data, "llm").exists()


def test_http_error_is_a_clear_runtime_error(tmp_path, endpoint):
    data = make_data(tmp_path)
    endpoint.modes = {"boil": "error500"}
    with pytest.raises(RuntimeError, match=r"HTTP 500 Internal Server Error \(after 4 attempts\)") as error:
        annotate_llm(data)
    assert f"{endpoint.base_url}/chat/completions" in str(error.value)
    assert API_KEY not in str(error.value)  # the server echoed it; the message must not
    assert not annotation_path(data, "llm").exists()

    with pytest.raises(RuntimeError, match="HTTP 404"):
        annotate_llm(data, base_url=endpoint.base_url + "/wrong")


def test_rate_limits_are_retried_with_backoff(tmp_path, endpoint):
    data = make_data(tmp_path)
    endpoint.modes = {"boil": "rate-limited-once"}
    stats = annotate_llm(data)
    assert stats["http_retries"] == 1 and stats["failed"] == [] and annotation_path(data, "llm").exists()
    boil = endpoint.requests_for(endpoint.trajectory_message(endpoint.requests_for("boil")[0]["body"]["messages"]).split("\n")[0])
    assert len(boil) == 2  # the 429, then the answer


def test_connection_refused_is_a_clear_error(tmp_path, endpoint):
    data = make_data(tmp_path)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RuntimeError, match="connection refused") as error:
        annotate_llm(data, base_url=f"http://127.0.0.1:{port}/v1")
    assert f"127.0.0.1:{port}" in str(error.value) and API_KEY not in str(error.value)


def test_api_key_is_not_in_the_config_repr_nor_the_cache_key(tmp_path):
    config = LLMConfig("http://127.0.0.1:1/v1", "m", API_KEY)
    assert API_KEY not in repr(config)
    other = LLMConfig("http://127.0.0.1:1/v1", "m", "another-key")
    messages = [{"role": "user", "content": "hi"}]
    assert ChatClient(config, tmp_path).cache_key(messages) == ChatClient(other, tmp_path).cache_key(messages)
    assert ChatClient(config, tmp_path, temperature=0.7).cache_key(messages) != ChatClient(config, tmp_path).cache_key(messages)


# ------------------------------------------------------------------ parsing, alignment, prompt
def test_parse_answer_reads_the_paper_format():
    answer = (
        "Here you go:\n"
        "1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}\n"
        '2. Pick_Up(thermometer): {"pick up thermometer"}\n'
        "3- wait(2)"
    )
    assert parse_answer(answer) == [
        ("navigate_to(kitchen)", ["open door to kitchen", "go to kitchen"]),
        ("pick_up(thermometer)", ["pick up thermometer"]),
        ("wait(2)", []),
    ]
    with pytest.raises(SubgoalError, match="unknown verb"):
        parse_answer("1- boil_water(pot) : {'activate stove'}")
    with pytest.raises(SubgoalError, match="unknown room"):
        parse_answer("1- navigate_to(attic) : {'go to attic'}")
    with pytest.raises(SubgoalError, match="no line"):
        parse_answer(GARBAGE)


def test_align_fills_gaps_and_recounts_waits():
    actions = ["open door to kitchen", "go to kitchen", "look around", *["wait1"] * 12, "pick up cup", "1", "focus on cup"]
    answer = [
        ("navigate_to(kitchen)", ["open door to kitchen", "go to kitchen"]),
        ("look_around()", ["look around"]),
        ("wait(12)", ["wait1", "wait1"]),
        ("pick_up(cup)", ["pick up cup", "1"]),
        ("examine(cup)", ["examine cup"]),  # matches nothing: dropped
        ("focus_on(cup)", ["focus on cup"]),
    ]
    segments = align(actions, answer, max_steps=10)
    assert [(s["text"], s["start"], s["end"]) for s in segments] == [
        ("navigate_to(kitchen)", 0, 2),
        ("look_around()", 2, 3),
        ("wait(10)", 3, 13),
        ("wait(2)", 13, 15),
        ("pick_up(cup)", 15, 17),
        ("focus_on(cup)", 17, 18),
    ]
    validate_segments(segments, len(actions), "test")
    with pytest.raises(ValueError, match="cover only"):
        align(actions, [("navigate_to(kitchen)", ["open door to kitchen"])])


def test_few_shot_examples_come_from_other_tasks_or_the_built_in_one():
    trajectories = list(TRAJECTORIES.values())
    messages = few_shot_messages(trajectories, "boil", 2)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "melt ice" in messages[0]["content"] and "freeze water" in messages[2]["content"]
    assert all("boil water" not in m["content"] for m in messages)
    assert messages[3]["content"].splitlines()[-2:] == [
        "4- cool(cup, freezer) : {'move cup to freezer'}",
        "5- wait(1) : {'wait1'}",
    ]

    built_in = few_shot_messages([TRAJECTORIES["boil"]], "boil", 2)
    assert len(built_in) == 2 and "boil water" in built_in[0]["content"]
    assert built_in[1]["content"].startswith("1- navigate_to(kitchen) : {'open door to kitchen', 'go to kitchen'}")
    assert few_shot_messages(trajectories, "boil", 0) == []
