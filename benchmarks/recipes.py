"""``sgd quickstart`` and ``sgd reproduce``: the whole method end to end, as one resumable recipe.

Collect gold paths (train and dev), annotate them with the rules, build the datasets, train the
planner, executor and flat models with equal budgets, train the PPO baselines when asked, evaluate
every agent on test variations, print the comparison table and write the plot. Every stage skips
what is already on disk, so a re-run after Ctrl-C picks up where it stopped.

``sgd quickstart`` runs the defaults below: candidate scorers (``family: scorer``, ``agents.policies.scorer``) on
the quickstart's 10 tasks, about 7 minutes on 2 quiet CPU cores (benchmarks/RESULTS.md, section
quickstart_scorer); ``sgd quickstart --config configs/quickstart-t5.yaml`` the same with tiny T5s that write their
sub-goals and actions (``family: generative``, the quickstart before scorers); ``sgd reproduce --config
configs/cpu-tiny.yaml`` (or ``configs/paper.yaml``) a full recipe. A config is a YAML mapping of ``RecipeConfig``
fields; unknown keys are an error, and so are the settings of the other family (``preset`` with ``family:
scorer``). Its ``ablations`` name more runs on the same checkpoints, each
a mapping of ``benchmarks.registry.AgentConfig`` fields::

    ablations:
      hierarchical-scripted-executor: {executor: scripted}
      flat-guarded: {agent: flat, guards: [safe-focus, avoid-cycles]}
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import shlex
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from agents.guards import ACTIONS, GUARDS, OPTIONS
from benchmarks.registry import AGENTS, SCRIPTED, AgentConfig
from sgd_gym.io import atomic_write_text
from sgd_gym.tasks import TASK_NAMES, get_task

log = logging.getLogger("sgd.recipe")
QUICK_TASKS = (
    "find-living-thing", "find-non-living-thing", "find-plant", "find-animal", "lifespan-longest-lived",
    "lifespan-shortest-lived", "power-component", "use-thermometer", "chemistry-mix", "boil",
)  # fmt: skip
MODEL_KINDS = ("planner", "executor", "flat")
MODEL_KEYS = ("learning_rate", "epochs", "max_steps", "minutes", "batch_size")
FAMILIES = ("scorer", "generative")
# Settings that only models writing text have (agents.train.TrainSettings); a scorer trains to a step budget.
GENERATIVE_KEYS = ("preset", "init", "lora_rank", "gradient_accumulation_steps", "gradient_checkpointing", "precision",
                   "max_target_tokens", "config_overrides", "minutes_per_model", "epochs")  # fmt: skip
# The guards the first scorer-cpu study chose on dev for both agents (benchmarks/RESULTS.md, section scorer_cpu), those
# of the committed quickstart run; the second study added seen-focus and 50 beams on its 30-task dev split, the third
# strict-seen-focus and no-room-focus.
SCORER_GUARDS = ["safe-focus", "avoid-cycles", "named-focus"]
# The scorer the quickstart's dev split chose (features version 2 over 1, benchmarks/results/quickstart/dev), under
# the recipe's ``scorer:`` mapping; ScorerConfig's own defaults (features 4, fields pooling) are those the 30-task
# scorer-cpu study chose on its dev split.
SCORER_DEFAULTS = {"features": 2, "pooling": "joint"}
RECIPE_AGENTS = ("hierarchical", "flat", "random", "oracle", "ppo", "ppo-options")
RECIPE_CHECKPOINTS = {"checkpoint", "planner", "executor"}  # set by the recipe: its own trained models
RESULT_FILES = ("summary.json", "episodes.jsonl", "table.md", "scores.csv")


Positive = Annotated[int, Field(gt=0)]
PositiveNumber = Annotated[float, Field(gt=0)]


@pydantic_dataclass(config=ConfigDict(extra="forbid"))
class RecipeConfig:
    """Every knob of the recipe (a YAML file with these keys overrides the defaults); types and ranges are checked
    (pydantic) before any work."""

    tasks: list[str] = dataclasses.field(default_factory=lambda: list(QUICK_TASKS))
    train_variations: Positive | None = 16  # None (YAML: all): the whole train split
    dev_variations: Positive | None = 2
    test_variations: Positive | None = 5
    data: str | None = None  # data folder (default: OUT/data); point several runs at one collection
    family: str = "scorer"  # scorer: score the state's candidates; generative: T5s or causal LMs that write text
    scorer: dict[str, Any] = dataclasses.field(default_factory=dict)  # ScorerConfig fields (encoder, head, hidden, ...)
    guards: list[str] | None = None  # inference guards of the hierarchical and flat runs (None: SCORER_GUARDS for scorers)
    preset: str = "tiny"
    init: str | None = None  # pretrained start instead of the preset: a T5 or causal LM folder, a hub name, smollm2-135m
    lora_rank: Positive | None = None  # train LoRA adapters of this rank over the init model (None: all its weights)
    gradient_accumulation_steps: Positive = 1  # batches per optimizer step
    gradient_checkpointing: bool = False  # recompute activations in the backward pass (less memory, more time)
    minutes_per_model: PositiveNumber | None = None  # a wall-clock cap: the models then depend on the machine's speed
    max_steps_per_model: Positive | None = 600  # a step budget: a re-run trains the same models
    epochs: PositiveNumber = 10  # used when neither a step nor a minute budget is set (generative)
    batch_size: Positive = 32
    learning_rate: PositiveNumber = 1e-3
    precision: str = "fp32"  # or bf16 (mixed precision, for GPUs)
    models: dict[str, dict[str, Any]] | None = None  # per-model overrides of MODEL_KEYS (the paper's lrs/epochs)
    eval_steps: Positive = 200
    max_source_tokens: Positive = 512
    max_target_tokens: Positive = 32
    agents: list[str] = dataclasses.field(default_factory=lambda: ["hierarchical", "flat", "random", "oracle"])
    ablations: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # run name -> AgentConfig fields
    ppo_timesteps: Positive = 20_000
    ppo_minutes: PositiveNumber | None = None
    eval_max_steps: Positive = 100
    eval_patience: Positive = 50
    workers: Positive = 2
    num_beams: Positive = 3
    replan: str = "boundary"  # the hierarchical agent's re-planning: boundary (SMDP) or every-step
    seed: Annotated[int, Field(ge=0)] = 0
    out: str = "runs/quickstart"
    results: str | None = None  # copy each run's summary/episodes/table here (benchmarks/results)
    config_overrides: dict[str, Any] | None = None  # T5Config fields (tests use a micro model)

    @classmethod
    def load(cls, path: str | Path | None, **overrides: Any) -> RecipeConfig:
        """Defaults, then the YAML file's keys, then ``overrides``; unknown keys or values are an error."""
        values: dict[str, Any] = {}
        if path is not None:
            import yaml

            try:
                loaded = yaml.safe_load(Path(path).read_text()) or {}
            except yaml.YAMLError as error:
                raise ValueError(f"{path}: not valid YAML ({error})".replace("\n", " ")) from None
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a mapping of recipe settings")
            values.update(loaded)
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown quickstart setting(s) {unknown}: expected some of {sorted(known)}")
        for key in ("train_variations", "dev_variations", "test_variations"):
            if values.get(key) == "all":
                values[key] = None
        if isinstance(values.get("tasks"), str):  # `tasks: boil` or `tasks: boil,melt` or `tasks: all`
            values["tasks"] = list(TASK_NAMES) if values["tasks"] == "all" else values["tasks"].split(",")
        _check_family_keys(values, path)
        try:
            config = cls(**values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc']))}: {item['msg']} (got {item['input']!r})" for item in error.errors()
            )
            raise ValueError(f"{path or 'quickstart settings'}: {problems}") from None
        config.check()
        return config

    def check(self) -> None:
        """Validate names and per-model settings before any work starts."""
        self.tasks = [get_task(task).name for task in self.tasks]  # unknown names fail here
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}: expected one of {list(FAMILIES)}")
        if self.family == "scorer":
            self._check_scorer_settings()
        for name in self.agents:
            if name not in RECIPE_AGENTS:
                raise ValueError(f"unknown agent {name!r} in agents: expected some of {list(RECIPE_AGENTS)}")
        if self.replan not in ("boundary", "every-step"):
            raise ValueError(f"unknown replan {self.replan!r}: expected 'boundary' or 'every-step'")
        if not isinstance(self.ablations, dict):
            raise ValueError(f"ablations must map run names to agent settings, got {self.ablations!r}")
        for name, config in agent_configs(self, Path(self.out) / "checkpoints").items():
            try:
                config.check(checkpoints=False)  # the checkpoints are trained later
            except ValueError as error:
                raise ValueError(f"run {name!r}: {error}") from None
        for kind, settings in (self.models or {}).items():
            if kind not in MODEL_KINDS:
                raise ValueError(f"unknown model {kind!r} in models: expected some of {list(MODEL_KINDS)}")
            bad = sorted(set(settings) - set(MODEL_KEYS))
            if bad:
                raise ValueError(f"unknown setting(s) {bad} for models.{kind}: expected some of {list(MODEL_KEYS)}")
        for kind in MODEL_KINDS:
            try:
                self.train_settings(kind).check()  # budgets and rates of models: too; an init model not installed
            except ValueError as error:
                raise type(error)(f"models.{kind}: {error}") from None

    def train_settings(self, kind: str) -> Any:
        """The training settings of one model (equal budgets unless ``models:`` says otherwise): an
        ``agents.train_scorer.ScorerTrainSettings`` for ``family: scorer``, else an ``agents.train.TrainSettings``.

        Raises:
            ValueError: a ``scorer`` field ``ScorerConfig`` lacks (scorer family).
        """
        from agents.train import TrainSettings

        budget = self.model_settings(kind)
        if self.family == "scorer":
            return self._scorer_settings(kind, budget)
        return TrainSettings(
            kind, preset=self.preset, init=self.init, max_steps=budget["max_steps"], max_minutes=budget["minutes"],
            epochs=budget["epochs"], learning_rate=budget["learning_rate"], batch_size=budget["batch_size"], seed=self.seed,
            eval_steps=self.eval_steps, max_source_tokens=self.max_source_tokens, max_target_tokens=self.max_target_tokens,
            config_overrides=self.config_overrides, precision=self.precision, lora_rank=self.lora_rank,
            gradient_accumulation_steps=self.gradient_accumulation_steps, gradient_checkpointing=self.gradient_checkpointing,
        )  # fmt: skip

    def _check_scorer_settings(self) -> None:
        """A scorer trains to a step budget with a batch size and a learning rate: nothing else is a model setting."""
        from agents.policies.scorer import ScorerConfig

        known = {item.name for item in dataclasses.fields(ScorerConfig)}
        unknown = sorted(set(self.scorer) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown} in scorer: expected some of {sorted(known)}")
        for kind, settings in (self.models or {}).items():
            ignored = sorted(set(settings) & {"epochs", "minutes"})
            if ignored:
                raise ValueError(f"models.{kind}: {ignored} apply to family: generative; a scorer trains to max_steps")
        if any(self.model_settings(kind)["max_steps"] is None for kind in MODEL_KINDS):
            raise ValueError("family scorer trains to a step budget: max_steps_per_model (or models.KIND.max_steps) "
                             "must be set")  # fmt: skip

    def _scorer_settings(self, kind: str, budget: dict[str, Any]) -> Any:
        from agents.policies.scorer import ScorerConfig
        from agents.train_scorer import ScorerTrainSettings

        model = ScorerConfig(**{"max_source_tokens": self.max_source_tokens, **SCORER_DEFAULTS, **self.scorer})
        return ScorerTrainSettings(kind, model=model, steps=budget["max_steps"], batch_size=budget["batch_size"],
                                   learning_rate=budget["learning_rate"], eval_steps=self.eval_steps, seed=self.seed)  # fmt: skip

    def run_guards(self) -> list[str]:
        """The guards of the hierarchical and flat runs: ``guards``, or for scorers the ones dev chose (``SCORER_GUARDS``)."""
        if self.guards is not None:
            return list(self.guards)
        return list(SCORER_GUARDS) if self.family == "scorer" else []

    def model_settings(self, kind: str) -> dict[str, Any]:
        """Training settings of one model: the shared ones, then ``models[kind]``."""
        shared = {"learning_rate": self.learning_rate, "epochs": self.epochs, "max_steps": self.max_steps_per_model,
                  "minutes": self.minutes_per_model, "batch_size": self.batch_size}  # fmt: skip
        return {**shared, **(self.models or {}).get(kind, {})}


def _check_family_keys(values: dict[str, Any], path: str | Path | None) -> None:
    """Refuse the settings of the other family (a T5 ``preset`` in a scorer recipe would silently do nothing)."""
    family = values.get("family", "scorer")
    where = path or "quickstart settings"
    given = [key for key in GENERATIVE_KEYS if values.get(key) is not None]
    if family == "scorer" and given:
        raise ValueError(f"{where}: setting(s) {given} apply to family: generative (models that write text), but the "
                         "recipe's family is scorer (the default since the scorer quickstart): add 'family: generative' "
                         "(as configs/quickstart-t5.yaml does) or drop them")  # fmt: skip
    if family == "generative" and values.get("scorer"):
        raise ValueError(f"{where}: scorer settings apply to family: scorer, not {family!r}")


def _stage(name: str, marker: Path, work) -> Any:
    """Run a stage unless its marker file says it is done; print how long it took."""
    if marker.exists():
        log.info(f"[recipe] {name}: done earlier ({marker})")
        return json.loads(marker.read_text())
    start = time.perf_counter()
    result = work()
    atomic_write_text(marker, json.dumps(result, indent=1, default=str))
    log.info(f"[recipe] {name}: {time.perf_counter() - start:.0f} s")
    return result


def _variations(count: int | None) -> str:
    return "all" if count is None else str(count)


def agent_configs(config: RecipeConfig, ckpt: Path) -> dict[str, AgentConfig]:
    """The runs the recipe evaluates (its agents, then its ablations), keyed by run name, on the checkpoints in ``ckpt``.

    An ablation is a mapping of ``AgentConfig`` fields (``agent`` defaults to ``hierarchical``); the recipe gives it
    the recipe's own checkpoints (``executor: scripted`` excepted), beam width and re-planning unless it sets them.

    Raises:
        ValueError: an ablation field ``AgentConfig`` lacks, or a checkpoint path (the recipe's models are its own).
    """
    runs = {name: {"agent": name} for name in config.agents}
    for name, fields in config.ablations.items():
        if not isinstance(fields, dict):
            raise ValueError(f"ablation {name!r}: expected a mapping of agent settings, got {fields!r}")
        known = {item.name for item in dataclasses.fields(AgentConfig)} - RECIPE_CHECKPOINTS | {"executor"}
        unknown = sorted(set(fields) - known)
        if unknown or fields.get("executor", SCRIPTED) != SCRIPTED:
            bad = unknown or ["executor"]
            allowed = f"expected some of {sorted(known)} (executor: {SCRIPTED})"
            raise ValueError(f"ablation {name!r}: unknown setting(s) {bad}: {allowed}")
        runs[name] = {"agent": "hierarchical", **fields}
    configs = {}
    for name, fields in runs.items():
        spec = AGENTS.get(fields["agent"])
        if spec is None:
            raise ValueError(f"unknown agent {fields['agent']!r} in run {name!r}: expected one of {list(AGENTS)}")
        given = {"num_beams": config.num_beams, "replan": config.replan}
        given = {key: value for key, value in given.items() if key in spec.reads}
        if fields["agent"] in ("hierarchical", "flat"):
            chooses = set(spec.guard_filters)  # the recipe's guards go where they filter something
            if fields.get("executor") == SCRIPTED:  # it chooses its actions and ends by rule: only sub-goal guards apply
                chooses -= {ACTIONS, OPTIONS}
            given["guards"] = [name for name in config.run_guards() if GUARDS[name].filters & chooses]
        given |= {key: str(ckpt / (key if fields["agent"] == "hierarchical" else fields["agent"])) for key in spec.checkpoints}
        configs[name] = AgentConfig(**{**given, **fields, "guards": tuple(fields.get("guards", given.get("guards", ())))})
    return configs


def _train_models(config: RecipeConfig, data: Path, ckpt: Path, stages: Path) -> None:
    """Train the planner, executor and flat models (equal budgets unless ``models:`` says otherwise)."""
    from agents.train import train
    from agents.train_scorer import train_scorer

    trainer = train_scorer if config.family == "scorer" else train
    for kind in MODEL_KINDS:
        work = functools.partial(trainer, config.train_settings(kind), data, ckpt / kind)
        _stage(f"train {kind}", stages / f"train-{kind}.json", work)


def _train_ppo(config: RecipeConfig, kind: str, ckpt: Path, stages: Path) -> None:
    """Train a PPO baseline just before its evaluation, so the model rows come first."""
    from baselines.ppo import PPOSettings, train_ppo

    settings = PPOSettings(kind=kind, tasks=config.tasks, max_steps=config.eval_max_steps)
    work = functools.partial(train_ppo, settings, ckpt / kind, timesteps=config.ppo_timesteps, max_minutes=config.ppo_minutes,
                             envs=config.workers, seed=config.seed)  # fmt: skip
    _stage(f"train {kind}", stages / f"train-{kind}.json", work)


def _prepare_data(config: RecipeConfig, data: Path, stages: Path) -> None:
    """Collect gold paths (train and dev), annotate them with the rules, build the examples (generative) or replay
    the gold paths with each state's candidates (scorer: ``agents.data.decisions``)."""
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect
    from agents.data.datasets import build_data
    from agents.data.decisions import collect_candidates

    def collect_all() -> dict:
        collect(config.tasks, "train", config.train_variations, data, config.workers)
        path = collect(config.tasks, "dev", config.dev_variations, data, config.workers)
        return {"trajectories": str(path)}

    _stage("collect", stages / "collect.json", collect_all)
    _stage("annotate", stages / "annotate.json", lambda: {"annotations": str(annotate_rules(data))})
    if config.family == "scorer":
        _stage("build-decisions", stages / "build-decisions.json", lambda: collect_candidates(data, config.workers))
    else:
        _stage("build-data", stages / "build-data.json", lambda: build_data(data, max_tokens=config.max_source_tokens))


def run_recipe(config: RecipeConfig) -> dict[str, dict]:
    """Run every stage; returns the evaluation summaries by run name."""
    from benchmarks.protocol import plan_episodes, run_evaluation
    from benchmarks.report import compare_runs

    out = Path(config.out)
    data = Path(config.data) if config.data else out / "data"
    ckpt, runs, stages = out / "checkpoints", out / "runs", out / "stages"
    counts = " / ".join(
        f"{_variations(n)} {split}"
        for split, n in (("train", config.train_variations), ("dev", config.dev_variations), ("test", config.test_variations))
    )
    configs = agent_configs(config, ckpt)
    models = f"{config.init} (LoRA rank {config.lora_rank})" if config.lora_rank else config.init or config.preset
    models = "candidate-scoring" if config.family == "scorer" else models
    log.info(f"[recipe] {len(config.tasks)} tasks, {counts} variations each; {models} models; "
             f"runs {', '.join(configs)}; output in {out}")  # fmt: skip
    started = time.perf_counter()
    _prepare_data(config, data, stages)
    if any(agent.agent in ("hierarchical", "flat") for agent in configs.values()):
        _train_models(config, data, ckpt, stages)
    specs = plan_episodes(config.tasks, "test", config.test_variations)
    summaries = {}
    for name, agent in configs.items():
        if agent.agent.startswith("ppo"):
            _train_ppo(config, agent.agent, ckpt, stages)
        agent.check()
        extra = {"parameters": agent.parameters(), "seed": config.seed, "agent_settings": agent.settings()}
        summaries[name] = run_evaluation(agent.build, specs, runs / name, name, config.eval_max_steps, config.eval_patience,
                                         config.workers, extra, identity=agent.identity())  # fmt: skip
        if config.results:
            publish_run(runs / name, Path(config.results) / name)
    table = compare_runs([runs / name for name in summaries], out)
    print()
    print(table)
    if {"hierarchical", "flat"} <= set(summaries):
        from benchmarks.gap import gap_text, score_gap

        print("\n[recipe] " + gap_text(score_gap(runs / "flat", runs / "hierarchical", seed=config.seed, out=out)))
    if "hierarchical" in summaries and config.family == "scorer":
        print("\n[recipe] " + _demo_command(runs / "hierarchical", ckpt, config.run_guards()))
    hours = (time.perf_counter() - started) / 3600
    print(f"\n[recipe] table: {out / 'comparison.md'}, plot: {out / 'comparison.png'}, runs: {runs} ({hours:.2f} h this call)")
    return summaries


def _demo_command(run: Path, ckpt: Path, guards: list[str]) -> str:
    """The ``sgd demo`` command that replays the run's best episode step by step: the highest score, then the most
    steps (more of the hierarchy to see), then the first."""
    from sgd_gym.io import read_jsonl

    best = max(read_jsonl(run / "episodes.jsonl"), key=lambda episode: (episode["score"], episode["steps"]))
    return (f"its best test episode, step by step: sgd demo --planner {ckpt / 'planner'} --executor {ckpt / 'executor'} "
            f"--guards {shlex.quote(','.join(guards))} --task {best['task']} --variation {best['variation']}")  # fmt: skip


def publish_run(run: Path, target: Path) -> None:
    """Copy a run folder's result files (not its caches) to ``target``, e.g. ``benchmarks/results/<run>``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
        if (run / name).exists():
            shutil.copyfile(run / name, target / f".{name}.tmp")
            (target / f".{name}.tmp").replace(target / name)
