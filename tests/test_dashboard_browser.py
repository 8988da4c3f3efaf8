"""End to end in a real browser: the dashboard served by Streamlit, read by headless Chromium (Debian's,
never a downloaded one). Skipped, saying so, where Chromium is not installed; .ci/run installs it."""

import shutil
import socket

import pytest

from dashboard.server import Dashboard, streamlit_command

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium"
)


KEY = "sk_live_BROWSERLEAKCHECK_9f8e7d"  # in the environment `dodo-analytics dashboard` is started from


@pytest.fixture
def served(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_PAYMENTS_API_KEY", KEY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd, env = streamlit_command(str(warehouse), "127.0.0.1", port)
    assert KEY not in str(env) and KEY not in str(cmd)  # the dashboard process never gets the key
    with Dashboard(warehouse, port=port) as dashboard:
        yield dashboard.url


def test_pages_render_in_chromium(served, reliability):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(served)
        page.get_by_text("55.00 USD").first.wait_for(timeout=30_000)  # MRR of the hand-computed fixture
        assert "Data through 2026-04-01 00:00 UTC" in page.content()
        page.get_by_role("link", name="Subscriptions & churn").click()
        page.get_by_text("ARPA").first.wait_for(timeout=30_000)
        page.get_by_text("11.00 USD").first.wait_for(timeout=30_000)  # 5500 / 5 customers
        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in body and KEY not in page.content()
        for name in ("Revenue", "Failures", "Records", "Exports", "Overview"):
            page.get_by_role("link", name=name).click()
            page.get_by_role("heading", name=name).first.wait_for(timeout=30_000)
            assert KEY not in page.content()  # the API key never reaches any page's HTML
        browser.close()
    reliability(
        "Key never leaks (dashboard)",
        "the key set where the dashboard is started: the Streamlit "
        "process's environment and command line checked, and the HTML of all 6 pages read in headless "
        "Chromium",
        6,
        "the key is left out of the process; 0 occurrences in the pages",
    )
