"""The HTML report in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
installed by scripts/chromium.sh when missing): it loads offline with no console error, every
chart's SVG has marks drawn, and a screenshot is written (also copied to
output/report-screenshot.png for a person to look at)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import report_marts
from dlf_report import write_report
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_COPY = ROOT / "output" / "report-screenshot.png"

# Every chart has at least one trace with a drawn shape: a bar's or a line's path with a `d`.
CHART_MARKS_JS = """
return Array.from(document.querySelectorAll('.chart')).map(chart => {
  const svg = chart.querySelector('svg.main-svg');
  const marks = chart.querySelectorAll('.cartesianlayer .trace path');
  const drawn = Array.from(marks).filter(p => (p.getAttribute('d') || '').length > 2).length;
  return {key: chart.dataset.chart, svg: !!svg, marks: drawn};
});
"""


def chromium_paths() -> tuple[str, str]:
    """Chromium and chromedriver; installed as root when missing. Not root and not installed:
    skipped, except under CI=true, where a missing browser is a failure."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")) and os.geteuid() != 0:
        message = "chromium and chromium-driver are not installed and installing them needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "chromium.sh")],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/chromium.sh failed:\n{done.stderr[-2000:]}")
    chromium, driver = done.stdout.split()
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI; the page is our own file
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        # Offline: every host name fails to resolve, so a page that needs the network breaks.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager must not try to download one.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def load(browser: Any, page: Path) -> list[dict[str, Any]]:
    """Open the page; the browser's console messages of level SEVERE (errors)."""
    browser.get_log("browser")  # drop what an earlier page left
    browser.get(page.as_uri())
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")
    # plotly draws right after the script runs; wait until every chart has its SVG.
    WebDriverWait(browser, 30).until(
        lambda b: all(chart["svg"] for chart in b.execute_script(CHART_MARKS_JS))
    )
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_report_renders_every_chart_in_chromium(browser: Any, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    report_marts.make_duckdb(warehouse, report_marts.realistic())
    summary = write_report(warehouse, tmp_path / "report.html")

    errors = load(browser, summary.out_path)
    assert errors == [], f"console errors: {errors}"
    charts = browser.execute_script(CHART_MARKS_JS)
    assert [chart["key"] for chart in charts] == list(summary.charts)
    assert {chart["key"] for chart in charts} == {
        "runs-per-day",
        "duration",
        "timeline",
        "failing-jobs",
        "failing-nodes",
    }
    for chart in charts:
        assert chart["svg"], f"{chart['key']}: no SVG"
        assert chart["marks"] > 0, f"{chart['key']}: the SVG has no bars or lines drawn"
    # The open-instances table is there, with the job that has waited for days first.
    first_row = browser.execute_script("return document.querySelector('#open tbody tr').innerText")
    assert "ods_orders_sync" in first_row or "dwd_orders_daily" in first_row or "d " in first_row
    # Nothing was fetched over the network: the page is self-contained.
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('file:') && !n.startsWith('data:'))"
    )
    assert fetched == []

    # The whole page in one screenshot, beyond the window's height (Chromium's DevTools call).
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 50_000  # a drawn page, not a blank one
    SCREENSHOT_COPY.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)


def test_empty_report_and_hostile_job_name_in_chromium(browser: Any, tmp_path: Path) -> None:
    """Empty marts say "no data" per chart; a job name with markup stays text (no script runs)."""
    tables = report_marts.empty()
    hostile = '</script><img src=x onerror="window.__injected=1">'
    tables["open_instances"] = [
        (report_marts.PROJECT, "default", hostile, 1, "waiting", None, None, 60.0),
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    report_marts.make_duckdb(warehouse, tables)
    summary = write_report(warehouse, tmp_path / "report.html")
    assert summary.charts == ()

    errors = load(browser, summary.out_path)
    assert errors == [], f"console errors: {errors}"
    no_data = browser.execute_script(
        "return Array.from(document.querySelectorAll('.no-data')).map(p => p.closest('section').id)"
    )
    assert set(no_data) >= {"runs-per-day", "duration", "timeline", "failing-jobs", "failing-nodes"}
    assert browser.execute_script("return window.__injected === undefined")
    assert hostile in browser.execute_script("return document.querySelector('#open td').innerText")
