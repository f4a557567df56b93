"""``llm``: an optional few-shot agent on any OpenAI-compatible chat endpoint, one call per action.

It exists to put a number on "no LLM at inference": its runs report the calls and tokens that an
LLM agent spends (``llm_calls`` / ``llm_tokens`` in ``summary.json``), where the distilled agents
report 0. Settings as in the LLM annotator: ``$SGD_LLM_BASE_URL``, ``$SGD_LLM_MODEL`` and the key
in ``$OPENAI_API_KEY`` (never logged or written); answers are cached on disk, so a re-run of the
same episodes makes no call (cached requests still count, with the tokens they cost).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.agent import Agent
from agents.data.annotate_llm import ChatClient, LLMConfig, resolve_config
from sgd_gym.grounding import ground_action

NOOP_ACTION = "look around"
SYSTEM_PROMPT = """You play ScienceWorld, a text game of elementary science experiments.
Each turn you see the task, your recent actions with what the game answered, the room around you,
your inventory, and the actions the game accepts now. Answer with exactly one action, copied from
the list of valid actions, and nothing else. Move between rooms with 'open door to X' then 'go to X';
'focus on X' marks the object the task is about (only focus on what the task names: a wrong focus
ends the game); 'wait1' lets time pass."""
EXAMPLE = [
    {
        "role": "user",
        "content": (
            "Task: Your task is to find a(n) living thing. First, focus on the thing. Then, move it to the purple box "
            "in the workshop.\nRecent actions:\n(none)\nRoom: This room is called the kitchen. In it, you see: a "
            "fridge, a table, a door to the outside (that is open).\nInventory: In your inventory, you see: an "
            "orange\nValid actions: look around, go to outside, open fridge, focus on orange, wait1"
        ),
    },
    {"role": "assistant", "content": "go to outside"},
]


class LLMAgent(Agent):
    """Asks a chat model for each action; answers that are not valid actions are grounded by fuzzy match.

    Args:
        client: a ``ChatClient`` (endpoint, cache and usage counts).
        history: most recent (action, observation) pairs shown.
        max_listed: most valid actions listed in the prompt (shortest first).
        listing: the list it is shown (``Agent.listing``): ``"raw"`` (ScienceWorld's own, what its runs have used)
            or ``"accepted"``.
    """

    listing = "raw"
    needs_valid_actions = True
    needs_gold_path = False

    def __init__(self, client: ChatClient, history: int = 8, max_listed: int = 150, listing: str = "raw") -> None:
        from sgd_gym.wrappers.discrete import check_listing

        self.client, self.history, self.max_listed = client, history, max_listed
        self.listing = check_listing(listing)
        self.requests = 0
        self.reset("")

    @classmethod
    def from_environment(cls, cache_dir: str | Path | None = None, config: LLMConfig | None = None, **kwargs: Any) -> LLMAgent:
        """An agent on the endpoint named by the environment (see the module docstring)."""
        cache = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "sgd-gym" / "llm-agent"
        return cls(ChatClient(config or resolve_config(), cache), **kwargs)

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.task = task_description.strip()
        self.past: list[tuple[str, str]] = []
        self._last: str | None = None

    def usage(self) -> dict[str, int]:
        """Requests made so far (cached ones included) and the tokens they cost."""
        stats = self.client.stats
        return {"llm_calls": self.requests, "llm_tokens": int(stats["total_tokens"] + stats["cached_tokens"])}

    def messages(self, obs: dict[str, str], valid: list[str]) -> list[dict[str, str]]:
        """The chat request for the current state."""
        recent = "\n".join(f"> {action}\n{answer}" for action, answer in self.past[-self.history :]) or "(none)"
        listed = sorted(valid, key=lambda action: (len(action), action))[: self.max_listed]
        content = (
            f"Task: {self.task}\nRecent actions:\n{recent}\nRoom: {obs['look'].strip()}\n"
            f"Inventory: {obs['inventory'].strip()}\nValid actions: {', '.join(listed)}"
        )
        return [{"role": "system", "content": SYSTEM_PROMPT}, *EXAMPLE, {"role": "user", "content": content}]

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        valid = info.get("valid_actions")
        if valid is None:
            raise KeyError("LLMAgent needs info['valid_actions']: create the env with valid_actions=True")
        if self._last is not None:
            self.past.append((self._last, " ".join(obs["observation"].split())))
        answer = self.client.complete(self.messages(obs, valid))
        self.requests += 1
        line = next((part.strip(" .'\"`").lower() for part in answer.strip().splitlines() if part.strip()), "")
        self._last = ground_action(line, valid) or NOOP_ACTION
        return self._last
