"""The static task catalogue agrees with the live ScienceWorld JVM."""

from __future__ import annotations

import pytest

from sgd_gym.backend import ScienceWorldBackend
from sgd_gym.tasks import TASK_NAMES, TASKS, get_task, resolve_tasks


def test_catalogue_has_thirty_tasks_and_ids():
    assert len(TASK_NAMES) == 30
    assert get_task("1-1").name == "boil"
    assert get_task("boil").task_id == "1-1"
    assert sum(info.n_train for info in TASKS.values()) == 3592


@pytest.mark.parametrize("bad", ["boiling", "", "11-1", None, 3])
def test_unknown_task_lists_valid_names(bad):
    with pytest.raises(ValueError, match="unknown task") as error:
        get_task(bad)
    assert "boil (1-1)" in str(error.value)


def test_variation_range_and_split_errors():
    boil = get_task("boil")
    assert boil.variation_id("test", 0) == 21
    with pytest.raises(ValueError, match=r"0\.\.8"):
        boil.variation_id("test", 9)
    with pytest.raises(ValueError, match="unknown split"):
        boil.variation_id("valid", 0)


def test_resolve_tasks():
    assert resolve_tasks("all") == list(TASK_NAMES)
    assert resolve_tasks("boil, 4-2") == ["boil", "find-non-living-thing"]


@pytest.mark.slow
def test_catalogue_matches_jvm():
    with ScienceWorldBackend() as backend:
        assert sorted(backend._call("getTaskNames")) == sorted(TASK_NAMES)
        for info in TASKS.values():
            backend.load(info.name, 0, "easy", gold_path=True)
            assert list(backend._call("getVariationsTrain")) == info.variation_ids("train"), info.name
            assert list(backend._call("getVariationsDev")) == info.variation_ids("dev"), info.name
            assert list(backend._call("getVariationsTest")) == info.variation_ids("test"), info.name
            assert backend._call("getTaskMaxVariations", info.name) == info.n_variations
            assert len(backend.gold_actions()) == info.gold_length, info.name
