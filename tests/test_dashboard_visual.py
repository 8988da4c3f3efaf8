"""Every page at the widths people use (1280 and 1920 px) in headless Chromium, over a synced simulated
business with realistic figures: no card's text cut off (measured in the DOM: an element whose text is
wider than its box), no exception, no empty chart. Screenshots are kept in var/screenshots/ (the
README names it) for a person to look at."""

import shutil
from pathlib import Path

import pytest

from dashboard.server import Dashboard
from harness import Harness, Watching
from helpers import make_api

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium"
)
SHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
PAGES = [
    "Overview",
    "Revenue",
    "Subscriptions & churn",
    "Growth & trials",
    "Failures",
    "Payouts & balance",
    "Records",
    "Customer profile",
    "Exports",
]
# elements inside the cards (and the charts' titles) whose text is wider than their box: cut off
CUT = """() => [...document.querySelectorAll('[data-testid=stMetric] *')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && e.textContent.trim())
    .map(e => e.textContent.trim())"""
EMPTY = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(el => !(el.data || []).some(t => ['x', 'y', 'values'].some(k => t[k] && t[k].length)))
    .map(el => (el.layout && el.layout.title && el.layout.title.text) || 'untitled')"""


@pytest.fixture(scope="module")
def business(tmp_path_factory):
    h = Harness(make_api(payments=8000, seed=5), tmp_path_factory.mktemp("visual"))
    assert h.sync() == 0, h.stderr.getvalue()
    return h.path


@pytest.fixture(scope="module")
def loading(tmp_path_factory):
    """An early publish of a first sync: MRR right now, most of the history still loading."""
    h = Watching(make_api(payments=8000, seed=5), tmp_path_factory.mktemp("loading"))
    h.env["DODO_ANALYTICS_PUBLISH_MINUTES"] = "0"
    assert h.sync() == 0, h.stderr.getvalue()
    return h.early("partial")


def test_every_page_at_1280_and_1920_px(business, reliability):
    assert look(business, "") == []
    reliability(
        "Pages look whole",
        "every page at 1280 and 1920 px in Chromium: card text measured against its box, charts for data",
        2 * len(PAGES),
        "no text cut off, no empty chart, no exception; screenshots in var/screenshots/",
    )


def test_every_page_while_a_first_sync_loads(loading):
    assert look(loading, "-loading", loading_line=True) == []


def look(warehouse: Path, suffix: str, loading_line: bool = False) -> list[str]:
    """What is wrong on any page at either width; screenshots as var/screenshots/<page>-<width><suffix>.png."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    with Dashboard(warehouse, port=8531) as dashboard, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for width in (1280, 1920):
            page = browser.new_page(viewport={"width": width, "height": 3000})
            page.goto(dashboard.url)
            page.get_by_text("Gross volume").first.wait_for(timeout=60_000)
            for name in PAGES:
                if name != "Overview":
                    page.get_by_role("link", name=name).click()
                    page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
                if name == "Customer profile":  # the first customer whose e-mail has an "a"
                    page.get_by_label("Find a customer by e-mail, name or id").fill("a")
                    page.keyboard.press("Enter")
                    page.get_by_text("Revenue to date").first.wait_for(timeout=60_000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                )
                page.wait_for_timeout(1500)  # Plotly draws after the script ends
                page.screenshot(path=str(SHOTS / f"{name.split()[0].lower()}-{width}{suffix}.png"))
                where = f"{name} at {width} px"
                if loading_line and "The first sync is still loading" not in page.inner_text("body"):
                    problems.append(f"{where}: does not say the history is loading")
                problems += [f"{where}: cut off: {t!r}" for t in page.evaluate(CUT)]
                problems += [f"{where}: empty chart: {t!r}" for t in page.evaluate(EMPTY)]
                if page.locator("[data-testid=stException]").count() or "Traceback" in page.inner_text(
                    "body"
                ):
                    problems.append(f"{where}: an exception")
            page.close()
        browser.close()
    return problems
