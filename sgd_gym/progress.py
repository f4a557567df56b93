"""Progress bars: each labelled with its stage, one per stage, all off with ``sgd -q``.

The switch is the environment variable ``SGD_GYM_PROGRESS`` (``0`` hides the bars), so that worker processes, which
inherit the environment, follow the command that started them.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm

PROGRESS_ENV = "SGD_GYM_PROGRESS"


def progress_enabled() -> bool:
    """Whether progress bars are shown (``$SGD_GYM_PROGRESS`` is not ``0``)."""
    return os.environ.get(PROGRESS_ENV, "1") != "0"


def progress_bar(total: int | None, desc: str, unit: str = "it", disable: bool = False, **options: Any) -> tqdm:
    """A tqdm bar labelled ``desc`` (hidden when ``disable`` or when progress is switched off), removed when done."""
    return tqdm(total=total, desc=desc, unit=unit, disable=disable or not progress_enabled(), leave=False, **options)
