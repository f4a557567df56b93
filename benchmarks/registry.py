"""The agent registry: one spec per agent, and one config that builds any of them.

``AgentConfig`` is the single source of an agent's settings: ``sgd eval`` makes a flag of each of its fields
(``benchmarks.cli.evaluate``), a recipe's YAML names the same fields (``benchmarks.recipes``), and a run's
``summary.json["agent_settings"]`` is ``AgentConfig.settings()``. ``AGENTS`` holds one ``AgentSpec`` per agent: how
to build it, which checkpoint fields it needs and of which kind, which other fields it reads and which guards
apply. ``AgentConfig.check()`` validates a config against its spec from the checkpoints' saved metadata (no
weights loaded), so a wrong checkpoint fails before any episode; ``AgentConfig.build`` is the picklable factory
the evaluation workers call, each loading the models once. ``AgentConfig.from_settings`` rebuilds the config a run
recorded, so that the run can be played again.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.guards import ACTIONS, GUARDS, OPTIONS, SUBGOALS, check_guard_names
from benchmarks.protocol import UNRECORDED_LISTING
from sgd_gym.envs.scienceworld import LISTINGS

SCRIPTED = "scripted"  # --executor scripted: the rule-based executor (sgd_gym.executors.ScriptedExecutor)
REPLAN_MODES = ("boundary", "every-step")
# Inference switches of the code before the registry, recorded as booleans in old agent_settings: the guard each became.
OLD_GUARD_SWITCHES = {"safe_focus": "safe-focus", "avoid_cycles": "avoid-cycles", "named_focus": "named-focus"}


@dataclass(frozen=True)
class AgentConfig:
    """Which agent, from which checkpoints, with which inference settings (see ``AGENTS`` for what each reads)."""

    agent: str = field(metadata={"help": "which agent"})
    checkpoint: str | None = field(default=None, metadata={"help": "the model checkpoint folder"})
    planner: str | None = field(default=None, metadata={"help": "the planner checkpoint folder"})
    executor: str | None = field(
        default=None, metadata={"help": f"the executor checkpoint folder, or '{SCRIPTED}' (the rule-based executor)"}
    )
    guards: tuple[str, ...] = field(
        default=(), metadata={"help": "comma-separated inference guards (agents.guards): " + ", ".join(GUARDS)}
    )
    replan: str = field(
        default="boundary",
        metadata={
            "help": "ask the planner at option boundaries (SMDP) or before every action (the paper's)",
            "choices": REPLAN_MODES,
        },
    )
    num_beams: int = field(default=3, metadata={"help": "beam width of the models"})
    llm_cache: str | None = field(default=None, metadata={"help": "folder of cached answers; endpoint from $SGD_LLM_*"})
    listing: str | None = field(
        default=None,
        metadata={
            "help": "which list info['valid_actions'] holds: accepted (the actions the game's parser accepts) or raw "
            "(ScienceWorld's own list; runs whose settings record no listing were given it)",
            "choices": LISTINGS,
        },
    )

    def __post_init__(self) -> None:
        order = list(GUARDS)  # guards act together (their union), so their order carries no meaning: keep one
        guards = sorted(self.guards, key=lambda name: order.index(name) if name in order else len(order))
        object.__setattr__(self, "guards", tuple(guards))
        spec = AGENTS.get(self.agent)
        if self.listing is None and spec is not None and "listing" in spec.reads:
            object.__setattr__(self, "listing", spec.agent_class().listing)  # recorded as the agent's own default

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AgentConfig:
        """The config of a run's recorded settings (``summary.json["agent_settings"]``), to play the run again.

        Settings that name no ``listing`` were recorded before it was a setting, when the agents were given
        ScienceWorld's raw list: the config gets ``listing="raw"`` (``benchmarks.protocol.UNRECORDED_LISTING``) where
        its agent reads one. Settings from before the registry (``name`` for ``agent``, guards as boolean switches)
        are read too.

        Args:
            settings: the recorded settings.

        Returns:
            The config (not checked: see ``check``).

        Raises:
            ValueError: a setting this code no longer has is switched on (the run cannot be played again as it was).
        """
        settings = dict(settings) if "agent" in settings else _pre_registry_settings(settings)
        known = {item.name for item in dataclasses.fields(cls)}
        gone = sorted(name for name, value in settings.items() if name not in known and value)
        if gone:
            raise ValueError(f"recorded settings {gone} are no longer agent settings: the run cannot be played again as it was")
        given = {name: value for name, value in settings.items() if name in known}
        spec = AGENTS.get(given.get("agent", ""))
        if spec is not None and "listing" in spec.reads:
            given.setdefault("listing", UNRECORDED_LISTING)
        return cls(**{**given, "guards": tuple(given.get("guards") or ())})

    @property
    def spec(self) -> AgentSpec:
        """The registry entry of ``agent`` (``ValueError`` listing the known ones)."""
        try:
            return AGENTS[self.agent]
        except KeyError:
            raise ValueError(f"unknown agent {self.agent!r}: expected one of {list(AGENTS)}") from None

    def replace(self, **changes: Any) -> AgentConfig:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict[str, Any]:
        """Every field, as written to ``summary.json["agent_settings"]`` (``listing`` only for agents that read it)."""
        settings = {**dataclasses.asdict(self), "guards": list(self.guards)}
        if self.listing is None:
            del settings["listing"]  # an agent without the setting: runs recorded before it have no key either
        return settings

    def check(self, checkpoints: bool = True) -> None:
        """Fail before any work when this config cannot build its agent.

        Checks, each naming the flag at fault: the agent exists; a field the agent does not read keeps its default;
        ``replan`` and ``num_beams`` are in range; every guard is known and filters something this agent chooses by
        model; the checkpoints it needs are given and (with ``checkpoints``) hold the right kind according to their
        saved metadata; the spec's own check (e.g. the LLM endpoint's environment variables).

        Raises:
            ValueError: with the message to show (``CheckpointError`` and ``CheckpointMissing`` are ValueErrors).
        """
        spec = self.spec
        defaults = AgentConfig(agent=self.agent)
        for name in (f.name for f in dataclasses.fields(self)):
            if name not in ("agent", *spec.reads) and getattr(self, name) != getattr(defaults, name):
                users = [other.name for other in AGENTS.values() if name in other.reads]
                raise ValueError(f"{flag(name)} applies to --agent {' or '.join(users)}, not to --agent {self.agent}")
        if self.replan not in REPLAN_MODES:
            raise ValueError(f"unknown replan mode {self.replan!r}: expected one of {list(REPLAN_MODES)}")
        if self.num_beams < 1:
            raise ValueError(f"--num-beams must be >= 1, got {self.num_beams!r}")
        self._check_guards()
        for name, kind in spec.checkpoints.items():
            path = getattr(self, name)
            if not path:
                raise ValueError(f"--agent {self.agent} needs {flag(name)} CKPT")
            if checkpoints and not (name == "executor" and path == SCRIPTED):
                found, _ = read_checkpoint(path)
                if found != kind:
                    raise ValueError(
                        f"{flag(name)} {path} holds a {found!r} checkpoint; --agent {self.agent} needs a {kind!r} one"
                    )
        if spec.check is not None:
            spec.check(self)

    def _check_guards(self) -> None:
        check_guard_names(self.guards)
        chooses = set(self.spec.guard_filters)
        if self.agent == "hierarchical" and self.executor == SCRIPTED:
            chooses -= {ACTIONS, OPTIONS}  # the scripted executor chooses its actions and ends by rule
        for name in self.guards:
            if not GUARDS[name].filters & chooses:
                what = " and ".join(sorted(GUARDS[name].filters))
                setting = f"--agent {self.agent}" + (f" --executor {SCRIPTED}" if self.executor == SCRIPTED else "")
                hint = "; option guards act on a learned executor's options: --agent hierarchical --executor CKPT"
                raise ValueError(f"guard {name!r} filters {what}, which {setting} does not choose by model"
                                 + (hint if GUARDS[name].filters == {OPTIONS} else ""))  # fmt: skip

    def parameters(self) -> int:
        """Parameters of the agent's models, from their saved metadata (0 for random, oracle and a remote LLM)."""
        return sum(read_checkpoint(getattr(self, name))[1] for name in self.spec.checkpoints if getattr(self, name) != SCRIPTED)

    def identity(self) -> dict[str, Any]:
        """What defines this agent's episodes: every setting, and a content fingerprint of each checkpoint folder
        (``sgd_gym.folders.folder_digest``), so a checkpoint retrained at the same path counts as another agent."""
        from sgd_gym.folders import folder_digest

        folders = {name: getattr(self, name) for name in self.spec.checkpoints if getattr(self, name) not in (None, SCRIPTED)}
        return {"settings": self.settings(), "checkpoints": {name: folder_digest(path) for name, path in folders.items()}}

    def build(self) -> Any:
        """The agent (top-level and picklable: evaluation workers call it to load their own copy)."""
        return self.spec.build(self)


def _pre_registry_settings(old: Mapping[str, Any]) -> dict[str, Any]:
    """Settings recorded before the registry, in ``AgentConfig``'s terms: ``name`` is the agent, the guard switches
    its guards, ``cache_dir`` the LLM cache (every agent recorded one); the evaluation ``seed`` is no agent setting."""
    settings = {key: value for key, value in old.items() if key not in ("name", "seed", "cache_dir", *OLD_GUARD_SWITCHES)}
    settings["agent"] = old.get("name")
    settings["guards"] = [guard for switch, guard in OLD_GUARD_SWITCHES.items() if old.get(switch)]
    if old.get("name") == "llm":
        settings["llm_cache"] = old.get("cache_dir")
    return settings


def default_listings() -> dict[str, str]:
    """The listing each agent that reads the setting is given when its config names none (its class's ``listing``)."""
    return {spec.name: spec.agent_class().listing for spec in AGENTS.values() if "listing" in spec.reads}


def flag(name: str) -> str:
    """The ``sgd eval`` flag of an ``AgentConfig`` field."""
    return "--" + name.replace("_", "-")


def read_checkpoint(path: str) -> tuple[str, int]:
    """(kind, parameters) of a checkpoint folder from its saved metadata, without loading weights.

    A sequence-model policy of either family, a full model or a LoRA adapter (``sgd_policy.json``: ``planner``,
    ``executor`` or ``flat``; parameters: all those it runs with, base and adapter), a PPO checkpoint
    (``settings.json``: ``ppo`` or ``ppo-options``) or an RLlib PPO checkpoint (``rllib_checkpoint.json`` and
    ``settings.json``: ``rllib-ppo`` or ``rllib-ppo-options``, its module loaded to count the parameters).

    Raises:
        ValueError: no such folder, or neither kind of checkpoint (naming what each lacks).
    """
    from pathlib import Path

    from agents.policies.checkpoint import ADAPTER_CONFIG, POLICY_FILE, policy_parameters, read_policy_settings

    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{path}: no such checkpoint folder")
    if any((folder / name).is_file() for name in (POLICY_FILE, "config.json", ADAPTER_CONFIG)):
        return read_policy_settings(folder)["kind"], policy_parameters(folder)
    from baselines.rllib_ppo import RLLIB_METADATA, is_rllib_checkpoint

    if is_rllib_checkpoint(folder):  # before the SB3 test: an RLlib checkpoint has a settings.json too
        from baselines.rllib_ppo import rllib_kind

        return rllib_kind(folder)
    if (folder / "settings.json").is_file() or (folder / "model.zip").is_file():
        from baselines.ppo import ppo_parameters, read_ppo_settings

        return read_ppo_settings(folder).kind, ppo_parameters(folder)
    raise ValueError(
        f"{path}: not a checkpoint: neither a sequence-model policy ({POLICY_FILE}, config.json, model.safetensors), a "
        f"PPO baseline (settings.json, model.zip) nor an RLlib PPO checkpoint ({RLLIB_METADATA}, settings.json)"
    )


def _random(config: AgentConfig) -> Any:
    from baselines.random_agent import RandomAgent

    return RandomAgent(listing=config.listing)


def _oracle(config: AgentConfig) -> Any:
    from baselines.oracle import OracleAgent

    return OracleAgent()


def _flat(config: AgentConfig) -> Any:
    from agents.guards import make_guards
    from baselines.flat_bc import FlatBCAgent

    guards = make_guards(config.guards)
    return FlatBCAgent.from_pretrained(config.checkpoint, num_beams=config.num_beams, guards=guards, listing=config.listing)


def _hierarchical(config: AgentConfig) -> Any:
    from agents.guards import make_guards
    from agents.hierarchical import HierarchicalAgent

    guards = make_guards(config.guards)
    return HierarchicalAgent.from_pretrained(config.planner, config.executor, guards, config.num_beams, replan=config.replan,
                                             listing=config.listing)  # fmt: skip


def _ppo(config: AgentConfig) -> Any:
    from baselines.ppo import PPOAgent

    return PPOAgent.from_pretrained(config.checkpoint)


def _rllib_ppo(config: AgentConfig) -> Any:
    from baselines.rllib_ppo import RLlibPPOAgent

    return RLlibPPOAgent.from_pretrained(config.checkpoint)


def _llm(config: AgentConfig) -> Any:
    from baselines.llm_agent import LLMAgent

    return LLMAgent.from_environment(cache_dir=config.llm_cache, listing=config.listing)


def _llm_endpoint(config: AgentConfig) -> None:
    from agents.data.annotate_llm import resolve_config

    resolve_config()  # raises naming the missing environment variable


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the registry.

    Attributes:
        name: its ``--agent`` name.
        build: makes the agent from a config (a top-level function).
        about: one line for ``--help``.
        agent_class_path: where its ``agents.agent.Agent`` subclass lives (``"module:Class"``); its ``listing`` is the
            default of ``AgentConfig.listing`` for agents that read it.
        checkpoints: ``AgentConfig`` fields that name its checkpoints -> the kind each must hold.
        options: the other ``AgentConfig`` fields it reads.
        guard_filters: what it chooses by model that guards may filter (``agents.guards``: ACTIONS, SUBGOALS, OPTIONS).
        check: more checks before any work (raise ``ValueError``).
    """

    name: str
    build: Callable[[AgentConfig], Any]
    about: str
    agent_class_path: str
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    guard_filters: frozenset[str] = frozenset()
    check: Callable[[AgentConfig], None] | None = None

    def agent_class(self) -> type:
        """The agent's class (imported on demand: a model agent's module is not loaded before it is needed)."""
        module, name = self.agent_class_path.split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def reads(self) -> tuple[str, ...]:
        """Every ``AgentConfig`` field this agent reads besides ``agent``."""
        return (*self.checkpoints, *self.options, *(("guards",) if self.guard_filters else ()))


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec(
            "random",
            _random,
            "a uniformly random valid action (the floor)",
            "baselines.random_agent:RandomAgent",
            options=("listing",),
        ),
        AgentSpec(
            "oracle", _oracle, "ScienceWorld's gold path (the ceiling under the step budget)", "baselines.oracle:OracleAgent"
        ),
        AgentSpec(
            "flat",
            _flat,
            "flat imitation (Swift-only): one model, context -> action",
            "baselines.flat_bc:FlatBCAgent",
            {"checkpoint": "flat"},
            ("num_beams", "listing"),
            frozenset({ACTIONS}),
        ),
        AgentSpec(
            "hierarchical",
            _hierarchical,
            "sub-goal distillation: planner -> sub-goal, executor -> actions",
            "agents.hierarchical:HierarchicalAgent",
            {"planner": "planner", "executor": "executor"},
            ("num_beams", "replan", "listing"),
            frozenset({ACTIONS, SUBGOALS, OPTIONS}),
        ),
        # PPO agents play the listing their checkpoint was trained on (settings.json), so they read no listing setting
        AgentSpec("ppo", _ppo, "MaskablePPO over primitive actions", "baselines.ppo:PPOAgent", {"checkpoint": "ppo"}),
        AgentSpec(
            "ppo-options",
            _ppo,
            "MaskablePPO over sub-goals, scripted executor",
            "baselines.ppo:PPOAgent",
            {"checkpoint": "ppo-options"},
        ),
        AgentSpec(
            "rllib-ppo",
            _rllib_ppo,
            "RLlib PPO over primitive actions (masked, choice-scoring module; examples/rllib_ppo.py)",
            "baselines.rllib_ppo:RLlibPPOAgent",
            {"checkpoint": "rllib-ppo"},
        ),
        AgentSpec(
            "rllib-ppo-options",
            _rllib_ppo,
            "RLlib PPO over sub-goals, scripted executor (examples/rllib_ppo.py)",
            "baselines.rllib_ppo:RLlibPPOAgent",
            {"checkpoint": "rllib-ppo-options"},
        ),
        AgentSpec(
            "llm",
            _llm,
            "an OpenAI-compatible chat model, one call per action",
            "baselines.llm_agent:LLMAgent",
            options=("llm_cache", "listing"),
            check=_llm_endpoint,
        ),
    )
}
