"""The page in a headless browser: Debian's ``chromium`` and ``chromium-driver`` driven by Selenium (the dev extra).

Used by the page's test and to take the README's screenshot:

python -m benchmarks.viewer.browser PAGE.html --episode ID [--task TASK] --out docs/viewer.png

``bash scripts/setup.sh --browser`` installs the browser (``.ci/run`` passes it).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars")  # fmt: skip


def find_browser() -> tuple[str, str] | None:
    """The paths of ``chromium`` and ``chromedriver``, or None where either is absent."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    return (chromium, chromedriver) if chromium and chromedriver else None


@contextlib.contextmanager
def headless_chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A Selenium driver of a headless Chromium with a fresh profile and a ``width`` x ``height`` window, quit after.

    Raises:
        RuntimeError: chromium or chromedriver is not installed.
    """
    from selenium import webdriver

    found = find_browser()
    if found is None:
        raise RuntimeError("needs Debian's chromium and chromium-driver (bash scripts/setup.sh --browser installs them)")
    profile = tempfile.mkdtemp(prefix="sgd-view-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=found[1]))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Path, episode: str, out: Path, task: str | None = None, width: int = 1600, height: int = 1400) -> Path:
    """A PNG of ``page`` (a page of ``sgd view``) with ``episode`` (an id such as ``boil:test:0``) open below the table,
    the table filtered to ``task`` if given; the window's top, ``width`` x ``height`` pixels, palette-quantized."""
    from io import BytesIO

    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with headless_chromium(width, height) as driver:
        # the window's size includes what the browser draws around the page: set the page's own size
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        driver.get(f"{page.resolve().as_uri()}#episode={quote(episode, safe='')}")
        if task:
            Select(driver.find_element(By.ID, "f-task")).select_by_value(task)
        if not driver.find_elements(By.CSS_SELECTOR, "#steps tr.step"):
            raise ValueError(f"episode {episode!r} is not on the page {page}")
        driver.execute_script("window.scrollTo(0, 0)")
        png = driver.get_screenshot_as_png()
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(BytesIO(png)).convert("RGB").quantize(colors=128).save(out, optimize=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: take the screenshot; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.viewer.browser", description="A screenshot of a page of sgd view."
    )
    parser.add_argument("page", type=Path, help="the page (sgd view RUN [RUN ...] --out PAGE.html)")
    parser.add_argument("--episode", required=True, help="the episode to open, TASK:SPLIT:VARIATION (e.g. boil:test:0)")
    parser.add_argument("--task", help="filter the table to this task (default: all tasks)")
    parser.add_argument("--size", default="1600x1400", help="window width x height in pixels (default: 1600x1400)")
    parser.add_argument("--out", type=Path, default=Path("docs/viewer.png"), help="the PNG (default: docs/viewer.png)")
    args = parser.parse_args(argv)
    try:
        width, height = (int(part) for part in args.size.split("x"))
    except ValueError:
        parser.error(f"argument --size: expected WIDTHxHEIGHT, got {args.size!r}")
    if not args.page.is_file():
        parser.error(f"argument page: no such file {args.page}")
    try:
        out = screenshot(args.page, args.episode, args.out, args.task, width, height)
    except (RuntimeError, ValueError) as error:
        print(f"python -m benchmarks.viewer.browser: {error}", file=sys.stderr)
        return 2
    print(f"{out}: {out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
