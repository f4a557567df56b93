"""The viewer's page in a real browser: Debian's ``chromium`` and ``chromium-driver`` driven by Selenium.

``.ci/run`` installs both (``bash scripts/setup.sh --browser``); where either is absent the tests are skipped, saying
so. Selenium is in the dev extra: without it they fail.
"""

from __future__ import annotations

import gymnasium as gym
import pytest

from benchmarks.viewer.browser import find_browser, headless_chromium, screenshot
from benchmarks.viewer.page import build_page
from sgd_gym.io import read_jsonl

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(1400, 1000) as driver:
        yield driver


def fresh_replay(record: dict) -> list[str]:
    """The observations of ``record``'s actions, replayed here without the viewer's code."""
    env = gym.make("sgd_gym/ScienceWorld-v1", split=record["split"], max_episode_steps=100)
    try:
        env.reset(seed=record["seed"], options={"task": record["task"], "variation": record["variation"]})
        return [env.step(action)[0]["observation"] for action in record["actions"]]
    finally:
        env.close()


def text(element) -> str:
    return element.get_attribute("textContent")


@pytest.fixture(scope="module")
def page(micro_runs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    build_page(micro_runs, folder / "view.html", workers=1, cache=folder / "cache")
    return folder / "view.html"


def test_the_page_lists_every_episode_and_shows_both_runs_step_by_step(micro_runs, page, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    html = page.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html  # self-contained: nothing to fetch
    records = [{(r["task"], r["variation"]): r for r in read_jsonl(run / "episodes.jsonl")} for run in micro_runs]
    browser.get(page.as_uri())

    cells = browser.find_elements(By.CSS_SELECTOR, "#matrix td.cell")
    assert sorted(cell.get_attribute("data-episode") for cell in cells) == sorted(
        f"{task}:test:{variation}" for task, variation in records[0])  # fmt: skip
    assert "4 episode(s) shown" in text(browser.find_element(By.ID, "shown"))

    key = ("find-living-thing", 1)
    browser.find_element(By.CSS_SELECTOR, f'td.cell[data-episode="{key[0]}:test:{key[1]}"]').click()
    assert text(browser.find_element(By.CSS_SELECTOR, "#episode h2")) == "find-living-thing — test variation 1"
    for index, run in enumerate(records):
        record, observations = run[key], fresh_replay(run[key])
        for step, action in enumerate(record["actions"], start=1):
            cell = browser.find_element(By.CSS_SELECTOR, f'tr.step[data-step="{step}"] td.run[data-run="{index}"]')
            assert text(cell.find_element(By.CLASS_NAME, "action")) == action
            assert text(cell.find_element(By.CLASS_NAME, "score")) == f"score {record['step_scores'][step - 1]:g}"
            assert text(cell.find_element(By.CLASS_NAME, "obs")) == observations[step - 1]
            assert bool(cell.find_elements(By.CSS_SELECTOR, ".invalid")) == (not record["step_valid"][step - 1])
        assert browser.find_elements(By.CSS_SELECTOR, f"#curve path.curve.run-{index}")
    opened = browser.find_elements(By.CSS_SELECTOR, 'td.run[data-run="1"] .note.open')
    assert text(opened[0]) == "▶ navigate_to(hallway)" and browser.find_elements(By.CSS_SELECTOR, "#curve rect.band")

    gaps = [r1[k]["score"] - r0[k]["score"] for r0, r1 in [records] for k in r0]
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("ahead1")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#matrix td.cell:not(.dim)")) == sum(gap > 0 for gap in gaps)
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("")
    Select(browser.find_element(By.ID, "f-task")).select_by_value("power-component")
    shown = browser.find_elements(By.CSS_SELECTOR, "#matrix td.cell")
    assert [cell.get_attribute("data-episode") for cell in shown] == ["power-component:test:0", "power-component:test:1"]


def test_screenshot_of_an_open_episode(page, tmp_path):
    from PIL import Image

    out = screenshot(page, "power-component:test:0", tmp_path / "view.png", task="power-component", width=800, height=600)
    assert Image.open(out).size == (800, 600)
    with pytest.raises(ValueError, match="not on the page"):
        screenshot(page, "boil:test:0", tmp_path / "none.png")
