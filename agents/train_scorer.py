"""Training a candidate scorer (``agents.policies.scorer``) on decision data: listwise cross-entropy, dev selection.

Each decision contributes ``-log softmax(scores)[expert]`` over its own candidates (a listwise loss, as DRRN-style
behaviour cloning and learning-to-rank's ListNet with a one-hot target), Adam, a budget in optimizer steps. Every
``eval_steps`` steps the policy is scored on the dev decisions (loss and top-1 accuracy: the expert's choice
ranked first) and the best so far by accuracy (then loss) is kept; the saved policy is that one, so dev selects the
checkpoint (never the test split). TensorBoard scalars ``train/loss``, ``eval/loss``, ``eval/accuracy`` go to
``OUT.training/tb``; a resumable state (model, optimizer, step, best so far, position in the data order, which is a
function of the seed and the pass) to ``OUT.training/state.pt`` after each evaluation, so an interrupted run, or one
given a larger ``--train-steps``, continues where it stopped with the same data order; the folder records its
settings and a re-run with others is refused (``sgd_gym.folders.check_config``).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.data.decisions import MATCHES, Decision, DecisionCounts, decisions
from agents.policies.scorer import ENCODERS, HEADS, KINDS, ScorerConfig, ScorerNet, ScorerPolicy
from agents.train import training_folder
from sgd_gym.folders import check_config, file_digest, writer
from sgd_gym.io import DataFileError, atomic_write_text
from sgd_gym.progress import progress_bar

STATE_FILE = "state.pt"
SAMPLINGS = ("decision", "task", "sqrt-task")  # ``ScorerTrainSettings.sampling``
SUMMARY_FILE = "train_summary.json"


@dataclass(frozen=True)
class ScorerTrainSettings:
    """One scorer training run (``sgd train KIND --family scorer``).

    Args:
        kind: ``planner``, ``executor`` or ``flat``.
        model: the ``ScorerConfig`` (encoder, head, sizes, context budget).
        annotations: which annotations of DATA the decisions come from (``rules``, ``llm``, ``import``).
        steps: optimizer steps.
        batch_size: decisions per step.
        learning_rate: Adam's step size.
        eval_steps: evaluate on dev (and save the resumable state) every this many steps.
        max_dev: dev decisions evaluated (a fixed random sample, seed 0; all when fewer).
        seed: initialisation and data order.
        sampling: how a batch draws its decisions (``SAMPLINGS``): ``decision``, every decision once per pass (the
            first scorer-cpu checkpoints'); ``task``, each task with the same chance whatever its number of
            decisions (each step draws ``batch_size`` decisions with replacement), as the protocol weighs tasks: a
            find task's 77-118 train planner decisions otherwise weigh about 1/30 of
            inclined-plane-friction-unnamed-surfaces' 3,700; ``sqrt-task``, each task in
            proportion to the square root of its decisions (between the two). With ``task`` or ``sqrt-task``, dev
            keeps the step of the best mean per-task accuracy (``evaluate``'s ``task_accuracy``).
    """

    kind: str = "flat"
    model: ScorerConfig = field(default_factory=ScorerConfig)
    annotations: str = "rules"
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 1e-3
    eval_steps: int = 250
    max_dev: int = 3000
    seed: int = 0
    sampling: str = "decision"

    def check(self) -> None:
        """Raise ``ValueError`` naming a bad setting and what is allowed."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}, expected one of {list(KINDS)}")
        self.model.check()
        for name in ("steps", "batch_size", "eval_steps", "max_dev"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {self.sampling!r}, expected one of {list(SAMPLINGS)}")


class ScorerOptimizer:
    """Adam for a ``ScorerNet``: ``torch.optim.SparseAdam`` for its sparse tables (the embedding, the cross term's:
    only the rows a batch used move), ``torch.optim.Adam`` for the rest; one ``state_dict`` for both (resuming)."""

    def __init__(self, net: ScorerNet, learning_rate: float) -> None:
        tables = [m.weight for m in net.modules() if isinstance(m, nn.Embedding | nn.EmbeddingBag) and m.sparse]
        sparse = [p for p in net.parameters() if any(p is table for table in tables)]
        dense = [p for p in net.parameters() if not any(p is table for table in tables)]
        self.optimizers = [torch.optim.Adam(dense, lr=learning_rate)]
        if sparse:
            self.optimizers.append(torch.optim.SparseAdam(sparse, lr=learning_rate))

    def zero_grad(self) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()

    def state_dict(self) -> list[dict[str, Any]]:
        return [optimizer.state_dict() for optimizer in self.optimizers]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        for optimizer, state in zip(self.optimizers, states):
            optimizer.load_state_dict(state)


def listwise_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean ``-log softmax(scores_b)[targets_b]`` over a ``(B, N)`` score matrix (``-inf`` on padding)."""
    return torch.nn.functional.cross_entropy(scores, targets)


def evaluate(policy: ScorerPolicy, dev: list[Decision], batch_size: int = 64) -> dict[str, float]:
    """Dev ``loss`` (listwise), ``accuracy`` (the share of decisions whose expert choice is scored highest) and
    ``task_accuracy`` (that share per task, averaged over the tasks: each task counts once) of ``policy``."""
    policy.net.eval()
    losses, hits = [], Counter()
    with torch.inference_mode():
        for start in range(0, len(dev), batch_size):
            rows = dev[start : start + batch_size]
            scores = policy.net(policy.batch([d.source for d in rows], [d.candidates for d in rows]))
            targets = torch.tensor([d.target for d in rows])
            losses.append(float(listwise_loss(scores, targets)) * len(rows))
            for row, hit in zip(rows, (scores.argmax(dim=1) == targets).tolist()):
                hits[row.task] += hit
    sizes = Counter(row.task for row in dev)
    return {"loss": sum(losses) / max(len(dev), 1), "accuracy": sum(hits.values()) / max(len(dev), 1),
            "task_accuracy": float(np.mean([hits[task] / n for task, n in sizes.items()])) if sizes else 0.0}


def sampling_weights(train: Sequence[Decision], sampling: str) -> np.ndarray | None:
    """The ``(len(train),)`` chance of each decision in one draw under ``sampling`` (``ScorerTrainSettings``), or
    None for ``decision`` (every decision once per pass). ``task``: each task's decisions share ``1 / tasks``;
    ``sqrt-task``: a share proportional to the square root of the task's decision count."""
    if sampling == "decision":
        return None
    sizes = Counter(d.task for d in train)
    mass = {task: (1.0 if sampling == "task" else np.sqrt(n)) for task, n in sizes.items()}
    total = sum(mass.values())
    weights = np.asarray([mass[d.task] / total / sizes[d.task] for d in train])
    return weights / weights.sum()


def _load_decisions(settings: ScorerTrainSettings, data: Path) -> tuple[list[Decision], list[Decision], DecisionCounts]:
    kinds = (settings.kind,)
    train, counts = decisions(data, "train", settings.annotations, kinds, settings.model.max_source_tokens)
    dev, _ = decisions(data, "dev", settings.annotations, kinds, settings.model.max_source_tokens)
    train_rows, dev_rows = train[settings.kind], dev[settings.kind]
    if not train_rows:
        raise DataFileError(f"{data}: no {settings.kind} decisions in the train split (collect, annotate and "
                            f"'sgd build-decisions --data {data}' first)")  # fmt: skip
    dev_rows = [dev_rows[i] for i in np.random.default_rng(0).permutation(len(dev_rows))[: settings.max_dev]]
    return train_rows, dev_rows, counts


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _tensorboard(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: train without logging scalars
        return None
    return SummaryWriter(str(folder))


def train_scorer(
    settings: ScorerTrainSettings, data: str | Path, out: str | Path, resume: bool = True, progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Train one scorer policy on DATA's decisions and save the dev-selected one in ``out``.

    Returns:
        The summary also written to ``OUT/train_summary.json``: kind, family, encoder, decisions (train, dev),
        choices (exact / grounded / missing per task on train), parameters, steps, best_step, dev (loss, accuracy),
        train_seconds, out.

    Raises:
        ValueError: bad settings (before any work); ``DataFileError`` without train decisions;
            ``sgd_gym.folders.ConfigMismatch`` when ``out`` holds a run of other settings and ``resume`` is True.
    """
    settings.check()
    data, out = Path(data), Path(out)
    folder = training_folder(out)
    with writer(out):
        folder.mkdir(parents=True, exist_ok=True)
        inputs = {"trajectories_sha256": file_digest(data / "trajectories.jsonl")}
        if not resume:
            (folder / STATE_FILE).unlink(missing_ok=True)
        check_config(folder, "train_config", {**asdict(settings), **inputs}, "a scorer training run", overwrite=not resume,
                     ignore=("steps", "eval_steps"), content=[folder / STATE_FILE],
                     absent_means={"sampling": "decision"})  # fmt: skip
        with _one_thread():
            return _train(settings, data, out, folder, progress, command)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the count: a scorer's matrices are small, and on 2 busy cores two
    threads made a training step twice as slow (measured: 33 vs 16 s for 20 steps beside other jobs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(
    settings: ScorerTrainSettings, data: Path, out: Path, folder: Path, progress: bool, command: str | None
) -> dict[str, Any]:
    started = time.monotonic()
    train, dev, counts = _load_decisions(settings, data)
    _seed(settings.seed)
    policy = ScorerPolicy(ScorerNet(settings.model), kind=settings.kind)
    policy.feature_cache = {}  # every pass and dev evaluation meets the same decisions again
    optimizer = ScorerOptimizer(policy.net, settings.learning_rate)
    state: dict[str, Any] = {"step": 0, "best": None, "best_step": 0, "seconds": 0.0, "epoch": -1, "position": 0}
    best_net = None
    if (folder / STATE_FILE).exists():
        saved = torch.load(folder / STATE_FILE, weights_only=False)
        policy.net.load_state_dict(saved["net"])
        optimizer.load_state_dict(saved["optimizer"])
        state, best_net = saved["state"], saved["best_net"]
    log = _tensorboard(folder / "tb")
    bar = progress_bar(settings.steps, f"train {settings.kind} scorer", "step", disable=not progress, initial=state["step"])
    weights = sampling_weights(train, settings.sampling)
    try:
        while state["step"] < settings.steps:
            rows = _next_batch(train, weights, settings, state)
            policy.net.train()
            scores = policy.net(policy.batch([d.source for d in rows], [d.candidates for d in rows]))
            loss = listwise_loss(scores, torch.tensor([d.target for d in rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state["step"] += 1
            bar.update()
            if log is not None:
                log.add_scalar("train/loss", loss.item(), state["step"])
            if state["step"] % settings.eval_steps == 0 or state["step"] == settings.steps:
                best_net = _evaluate_and_keep(policy, dev, state, best_net, log, settings.sampling)
                state["seconds"] += time.monotonic() - started
                started = time.monotonic()
                _save_state(folder, policy, optimizer, state, best_net)
    finally:
        bar.close()
        if log is not None:
            log.close()
    return _finish(settings, data, out, policy, best_net, state, train, dev, counts, command)


def _next_batch(train: list[Decision], weights: np.ndarray | None, settings: ScorerTrainSettings,
                state: dict) -> list[Decision]:
    """The decisions of the next step: the next slice of this pass's order (``weights`` None), else
    ``batch_size`` draws by ``weights`` from a generator seeded by (seed, step), so a resumed run draws the same."""
    if weights is not None:
        drawn = np.random.default_rng([settings.seed, state["step"]]).choice(len(train), settings.batch_size, p=weights)
        return [train[i] for i in drawn]
    if state["epoch"] < 0 or state["position"] >= len(train):
        state["epoch"], state["position"] = state["epoch"] + 1, 0
    order = np.random.default_rng([settings.seed, state["epoch"]]).permutation(len(train))  # one order per pass
    rows = [train[i] for i in order[state["position"] : state["position"] + settings.batch_size]]
    state["position"] += settings.batch_size
    return rows


def _evaluate_and_keep(policy: ScorerPolicy, dev: list[Decision], state: dict, best_net: Any, log: Any,
                       sampling: str = "decision") -> Any:
    """Score the policy on dev; keep its weights when it is the best so far (accuracy, then lower loss; the mean
    per-task accuracy first when ``sampling`` weighs tasks)."""
    metrics = evaluate(policy, dev) if dev else {"loss": 0.0, "accuracy": 0.0, "task_accuracy": 0.0}
    if log is not None:
        for name, value in metrics.items():
            log.add_scalar(f"eval/{name}", value, state["step"])
    key = (metrics["task_accuracy" if sampling != "decision" else "accuracy"], -metrics["loss"])
    if not dev or state["best"] is None or key > tuple(state["best"]):
        state["best"], state["best_step"] = list(key), state["step"]
        state["dev"] = metrics
        return {name: tensor.detach().clone() for name, tensor in policy.net.state_dict().items()}
    return best_net


def _save_state(folder: Path, policy: ScorerPolicy, optimizer: Any, state: dict, best_net: Any) -> None:
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save({"net": policy.net.state_dict(), "optimizer": optimizer.state_dict(), "state": state, "best_net": best_net}, tmp)
    tmp.replace(folder / STATE_FILE)


def _finish(
    settings: ScorerTrainSettings, data: Path, out: Path, policy: ScorerPolicy, best_net: Any, state: dict,
    train: list[Decision], dev: list[Decision], counts: DecisionCounts, command: str | None,
) -> dict[str, Any]:
    policy.feature_cache = None
    if best_net is not None:
        policy.net.load_state_dict(best_net)
    parameters = sum(p.numel() for p in policy.net.parameters())
    table = counts.table()
    choices = {name: sum(row.get(settings.kind, {}).get(name, 0) for row in table.values())
               for name in MATCHES}  # fmt: skip
    summary = {"kind": settings.kind, "family": "scorer", "encoder": settings.model.encoder, "head": settings.model.head,
               "decisions": {"train": len(train), "dev": len(dev)}, "choices": choices, "parameters": parameters,
               "steps": state["step"], "best_step": state["best_step"], "dev": state.get("dev"),
               "train_seconds": round(state["seconds"], 1), "data": str(data), "out": str(out)}  # fmt: skip
    policy.metadata = {**{key: summary[key] for key in ("parameters", "decisions", "dev", "steps", "best_step",
                                                          "train_seconds")},
                       "settings": asdict(settings), "data": str(data), **({"command": command} if command else {})}  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        (out / SUMMARY_FILE).unlink()
    policy.save(out)
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["ENCODERS", "HEADS", "ScorerTrainSettings", "evaluate", "listwise_loss", "train_scorer"]
