"""The flat imitation baseline (the paper's "Swift-only"): same model family and data, primitive actions only."""

from __future__ import annotations

from typing import Any

from agents.data.datasets import State, build_context
from agents.focus import unnamed_focus
from agents.grounding import choose_action, model_ranker


class FlatBCAgent:
    """A seq2seq policy from context to the next primitive action, grounded to the valid actions.

    Uses the same context builder, grounding and budget as the hierarchical agent.

    Args:
        policy: a ``Seq2SeqPolicy`` trained on flat examples.
        num_beams: beam width (1 = greedy).
        avoid_cycles, safe_focus: the inference guards of ``agents.grounding.choose_action`` (off by default).
        named_focus: in a task whose gold paths focus only on what its description names, never send a focus on
            anything else (``agents.focus.unnamed_focus``).
        constrained: when no candidate is a valid action, send the model's own choice among the valid actions
            (constrained decoding, ``agents.grounding.model_ranker``) instead of the fuzzy match.
    """

    needs_valid_actions = True
    needs_gold_path = False

    def __init__(
        self,
        policy: Any,
        num_beams: int = 3,
        avoid_cycles: bool = False,
        safe_focus: bool = False,
        constrained: bool = False,
        named_focus: bool = False,
    ) -> None:
        self.policy, self.num_beams, self.avoid_cycles, self.safe_focus = policy, num_beams, avoid_cycles, safe_focus
        self.constrained, self.named_focus = constrained, named_focus
        self.max_tokens = getattr(policy, "max_source_tokens", 512)
        self.reset("")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> FlatBCAgent:
        """Load a flat checkpoint folder (``sgd train flat --out PATH``)."""
        from agents.models import Seq2SeqPolicy

        return cls(Seq2SeqPolicy.load(path), **kwargs)

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.task, self.state, self._last = task_description, None, None

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        if self.state is None:
            self.state = State(obs["task"] or self.task, obs["look"], obs["inventory"], obs["observation"], info.get("score", 0))
        else:
            self.state.advance(self._last, obs, info.get("score", 0))
        source = build_context(self.state, max_tokens=self.max_tokens)
        candidates = self.policy.generate([source], num_beams=self.num_beams, num_return_sequences=self.num_beams)[0]
        valid = info.get("valid_actions") or []
        rank = model_ranker(self.policy, source, self.num_beams) if self.constrained else None
        blocked = unnamed_focus(valid, info.get("task_name"), self.state.task) if self.named_focus else ()
        self._last = choose_action(candidates, valid, self.state.history, self.avoid_cycles, self.safe_focus, rank, blocked)
        return self._last
