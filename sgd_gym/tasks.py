"""The ScienceWorld task catalogue: 30 tasks, their ids, splits and length groups.

Split sizes come from ScienceWorld 1.2.3 (``getVariationsTrain/Dev/Test``); each split is a
contiguous range of ScienceWorld variation ids (train first, then dev, then test), which
``tests/sgd_gym/test_tasks.py`` checks against the live JVM. Having them here lets every part
of sgd-gym validate arguments and plan episodes without starting a JVM.
"""

from __future__ import annotations

from dataclasses import dataclass

SPLITS: tuple[str, ...] = ("train", "dev", "test")
SIMPLIFICATIONS: tuple[str, ...] = (
    "easy",
    "teleportAction",
    "selfWateringFlowerPots",
    "openContainers",
    "openDoors",
    "noElectricalAction",
)


@dataclass(frozen=True)
class TaskInfo:
    """One ScienceWorld task.

    Attributes:
        task_id: ScienceWorld's id, e.g. ``"1-1"``.
        name: ScienceWorld's task name, e.g. ``"boil"``.
        n_train: number of train variations.
        n_dev: number of dev variations.
        n_test: number of test variations.
        gold_length: length of the gold path of variation 0 under ``easy``.
    """

    task_id: str
    name: str
    n_train: int
    n_dev: int
    n_test: int
    gold_length: int

    @property
    def n_variations(self) -> int:
        """Total number of variations across the three splits."""
        return self.n_train + self.n_dev + self.n_test

    def split_size(self, split: str) -> int:
        """Number of variations in ``split``."""
        return {"train": self.n_train, "dev": self.n_dev, "test": self.n_test}[check_split(split)]

    def variation_ids(self, split: str) -> list[int]:
        """ScienceWorld variation ids of ``split``, in ScienceWorld's order."""
        start = {"train": 0, "dev": self.n_train, "test": self.n_train + self.n_dev}[check_split(split)]
        return list(range(start, start + self.split_size(split)))

    def variation_id(self, split: str, variation: int) -> int:
        """ScienceWorld's variation id of the ``variation``-th variation of ``split``."""
        size = self.split_size(split)
        if isinstance(variation, bool) or not isinstance(variation, int) or not 0 <= variation < size:
            raise ValueError(
                f"variation {variation!r} is out of range for task {self.name!r} split {split!r}: "
                f"expected an int in 0..{size - 1}"
            )
        return self.variation_ids(split)[variation]

    @property
    def length_group(self) -> str:
        """``short`` (<20 gold actions), ``medium`` (20-50) or ``long`` (>50)."""
        if self.gold_length < 20:
            return "short"
        return "medium" if self.gold_length <= 50 else "long"


_TABLE = [
    # task_id, name, n_train, n_dev, n_test, gold length of variation 0 (easy, deterministic JVM)
    ("1-1", "boil", 14, 7, 9, 39),
    ("1-2", "melt", 14, 7, 9, 34),
    ("1-3", "freeze", 14, 7, 9, 26),
    ("1-4", "change-the-state-of-matter-of", 14, 7, 9, 26),
    ("2-1", "use-thermometer", 270, 135, 135, 22),
    ("2-2", "measure-melting-point-known-substance", 218, 109, 109, 27),
    ("2-3", "measure-melting-point-unknown-substance", 150, 75, 75, 32),
    ("3-1", "power-component", 10, 5, 5, 11),
    ("3-2", "power-component-renewable-vs-nonrenewable-energy", 10, 5, 5, 26),
    ("3-3", "test-conductivity", 450, 225, 225, 21),
    ("3-4", "test-conductivity-of-unknown-substances", 300, 150, 150, 21),
    ("4-1", "find-living-thing", 150, 75, 75, 10),
    ("4-2", "find-non-living-thing", 150, 75, 75, 5),
    ("4-3", "find-plant", 150, 75, 75, 10),
    ("4-4", "find-animal", 150, 75, 75, 10),
    ("5-1", "grow-plant", 62, 31, 33, 63),
    ("5-2", "grow-fruit", 62, 31, 33, 63),
    ("6-1", "chemistry-mix", 16, 8, 8, 25),
    ("6-2", "chemistry-mix-paint-secondary-color", 18, 9, 9, 21),
    ("6-3", "chemistry-mix-paint-tertiary-color", 18, 9, 9, 30),
    ("7-1", "lifespan-longest-lived", 62, 31, 32, 6),
    ("7-2", "lifespan-shortest-lived", 62, 31, 32, 6),
    ("7-3", "lifespan-longest-lived-then-shortest-lived", 62, 31, 32, 7),
    ("8-1", "identify-life-stages-1", 6, 3, 5, 41),
    ("8-2", "identify-life-stages-2", 4, 2, 4, 16),
    ("9-1", "inclined-plane-determine-angle", 84, 42, 42, 55),
    ("9-2", "inclined-plane-friction-named-surfaces", 692, 346, 348, 51),
    ("9-3", "inclined-plane-friction-unnamed-surfaces", 80, 40, 42, 178),
    ("10-1", "mendelian-genetics-known-plant", 60, 30, 30, 123),
    ("10-2", "mendelian-genetics-unknown-plant", 240, 120, 120, 129),
]

TASKS: dict[str, TaskInfo] = {row[1]: TaskInfo(*row) for row in _TABLE}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
_BY_ID = {info.task_id: info for info in TASKS.values()}


def check_split(split: str) -> str:
    """Return ``split`` if it is one of ``train``, ``dev``, ``test``; raise ``ValueError`` otherwise."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {list(SPLITS)}")
    return split


def get_task(task: str) -> TaskInfo:
    """Look a task up by name (``"boil"``) or id (``"1-1"``).

    Raises:
        ValueError: unknown task, with the valid names listed.
    """
    if isinstance(task, str):
        if task in TASKS:
            return TASKS[task]
        if task in _BY_ID:
            return _BY_ID[task]
    raise ValueError(
        f"unknown task {task!r}: expected a task name or id, one of "
        + ", ".join(f"{info.name} ({info.task_id})" for info in TASKS.values())
    )


def check_simplifications(simplifications: str) -> str:
    """Validate a comma-separated simplification string (``""`` or e.g. ``"easy"``)."""
    if not isinstance(simplifications, str):
        raise TypeError(f"simplifications must be a str, got {type(simplifications).__name__}")
    for part in filter(None, simplifications.split(",")):
        if part not in SIMPLIFICATIONS:
            raise ValueError(f"unknown simplification {part!r}: expected a comma-separated subset of {list(SIMPLIFICATIONS)}")
    return simplifications


def resolve_tasks(spec: str) -> list[str]:
    """Turn ``"all"`` or a comma-separated list of names/ids into task names."""
    if spec.strip() == "all":
        return list(TASK_NAMES)
    return [get_task(part.strip()).name for part in spec.split(",") if part.strip()]
