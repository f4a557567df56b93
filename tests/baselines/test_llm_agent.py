"""The optional LLM agent against an OpenAI-compatible endpoint that the test serves on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.data.annotate_llm import LLMConfig
from baselines.llm_agent import LLMAgent
from benchmarks.protocol import evaluate, plan_episodes
from sgd_gym.io import read_jsonl

API_KEY = "sk-agent-test-SECRET-1b2c"
USAGE = {"prompt_tokens": 300, "completion_tokens": 4, "total_tokens": 304}


class ActionEndpoint:
    """Answers each chat request with the second listed valid action, in a sloppy form to ground."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                listed = body["messages"][-1]["content"].split("Valid actions: ")[1].split(", ")
                answer = f"  '{listed[1].upper()}'.\nBecause it looks useful."
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}], "usage": USAGE})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture()
def endpoint():
    server = ActionEndpoint()
    yield server
    server.server.shutdown()


def test_llm_agent_counts_calls_and_tokens_and_caches(endpoint, tmp_path):
    config = LLMConfig(endpoint.base_url, "test-model", API_KEY)
    factory = lambda: LLMAgent.from_environment(cache_dir=tmp_path / "cache", config=config)  # noqa: E731
    specs = plan_episodes(["find-non-living-thing"], "test", 1)
    first = evaluate(factory, specs, max_steps=4, patience=None)[0]
    assert first["error"] is None and first["steps"] >= 1
    assert first["llm_calls"] == first["steps"] == len(endpoint.requests)
    assert first["llm_tokens"] == 304 * first["steps"]
    sent = endpoint.requests[0]["messages"][-1]["content"]
    assert "Valid actions:" in sent and API_KEY not in json.dumps(endpoint.requests)
    listed = sent.split("Valid actions: ")[1].split(", ")
    assert first["actions"][0] == listed[1]  # the sloppy answer was grounded to the valid action

    again = evaluate(factory, specs, max_steps=4, patience=None)[0]
    assert len(endpoint.requests) == first["steps"]  # every answer came from the cache
    assert again["actions"] == first["actions"] and again["llm_calls"] == first["llm_calls"]
    assert again["llm_tokens"] == first["llm_tokens"]  # cached requests still count what they cost


def test_sgd_eval_llm_reports_usage_and_never_writes_the_key(endpoint, tmp_path):
    env = {**os.environ, "SGD_LLM_BASE_URL": endpoint.base_url, "SGD_LLM_MODEL": "m", "OPENAI_API_KEY": API_KEY}
    run = tmp_path / "run"
    command = [sys.executable, "-m", "benchmarks.cli", "eval", "--agent", "llm", "--tasks", "find-non-living-thing",
               "--variations", "1", "--max-steps", "3", "--out", str(run)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    steps = sum(r["steps"] for r in read_jsonl(run / "episodes.jsonl"))
    assert summary["llm_calls"] == steps == len(endpoint.requests) > 0
    assert summary["llm_tokens"] == 304 * summary["llm_calls"] and "| LLM calls |" in done.stdout
    assert all(API_KEY not in path.read_text() for path in run.rglob("*") if path.is_file() and path.suffix != ".png")
    missing = {k: v for k, v in env.items() if k != "SGD_LLM_BASE_URL"}
    done = subprocess.run(command[:-1] + [str(tmp_path / "r2")], capture_output=True, text=True, timeout=600, env=missing)
    assert done.returncode == 2 and "SGD_LLM_BASE_URL" in done.stderr and not (tmp_path / "r2").exists()
