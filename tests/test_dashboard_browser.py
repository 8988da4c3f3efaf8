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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_PAYMENTS_API_KEY", KEY)
    port = free_port()
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


# -- clicking the charts -----------------------------------------------------------------------------
# Every chart lists the records behind a clicked point. These tests click as a person does (the
# pointer moves onto the point, then clicks) and read the listed records from the table's
# accessible cells. The hand-built business of helpers.py, period "Last 30 days" (Mar 3 to Apr 1).
def open_browser(p):
    browser = p.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    )
    return browser, browser.new_page(viewport={"width": 1440, "height": 1000})


def go(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_text("Gross volume").first.wait_for(timeout=30_000)
    if name != "Overview":
        page.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=name).first.wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)


def click(page, title: str, trace: int, key: str) -> None:
    """Click the point of `trace` whose key (customdata) is `key` in the chart titled `title`."""
    plot = page.locator(".js-plotly-plot", has_text=title).first
    plot.scroll_into_view_if_needed()
    index, kind = plot.evaluate(
        "(el, [t, k]) => [el.data[t].customdata.indexOf(k), el.data[t].type]", [trace, key]
    )
    assert index >= 0, f"{title} has no point {key} in trace {trace}"
    group = plot.locator("g.trace.bars" if kind == "bar" else "g.trace.scatter").nth(trace)
    point = group.locator("g.point path" if kind == "bar" else "path.point").nth(index)
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 4, y)  # Plotly picks the point under the pointer on a move, then the click selects it
    page.wait_for_timeout(300)
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)


def listed(page, shown: str, header: str) -> list[str]:
    """The first column of the records table (its first header is `header`) listed once the page
    shows `shown` (the clicked point's key, or a caption)."""
    said = page.locator("[data-testid=stText], [data-testid=stCaptionContainer]", has_text=shown)
    said.first.wait_for(timeout=30_000)
    grid = page.locator("[data-testid=stDataFrame]").filter(has=page.locator("th", has_text=header)).last
    grid.locator("td").first.wait_for(state="attached", timeout=30_000)  # the table is drawn on a canvas
    column = grid.locator("thead th").all_text_contents().index(header) + 1  # after a Profile link, if any
    return sorted(grid.locator(f"tbody tr td:nth-child({column})").all_text_contents())


def test_clicks_list_the_records_of_the_clicked_point(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_browser(p)
        # a grouped bar: the Net bar of Mar 5 (its x is shifted right of the day; its key is the day's)
        go(page, served, "Revenue")
        click(page, "Gross and net volume by day", 1, "2026-03-05")
        assert listed(page, "2026-03-05", "Payment ID") == ["pD4", "pG1"]
        # by week: the week of Monday Mar 2, cut by the period at Mar 3 (pF1 of Mar 2 is JPY anyway)
        page.get_by_text("week", exact=True).click()
        page.locator(".js-plotly-plot", has_text="volume by week").first.wait_for(timeout=30_000)
        click(page, "Gross and net volume by week", 1, "2026-03-02")
        assert listed(page, "2026-03-02", "Payment ID") == ["pC1c", "pD4", "pG1"]
        # a line point: Overview's revenue on Mar 10 (H's return)
        go(page, served, "Overview")
        click(page, "Revenue by day", 0, "2026-03-10")
        assert listed(page, "2026-03-10", "Payment ID") == ["pH2"]
        # a line point by week (USD's one failure, pA0, has no decline reason read: no bar, said so)
        go(page, served, "Failures")
        page.get_by_text("No failed payment of the period has its decline reason read yet").wait_for(
            timeout=30_000
        )
        click(page, "Payment outcomes by week", 0, "2026-03-09")
        assert listed(page, "2026-03-09", "Payment ID") == ["pA0", "pA3", "pH2"]
        # a month's point, and a cohort cell: January's cohort one month on (H not paying at Mar 1)
        go(page, served, "Subscriptions & churn")
        click(page, "MRR and ARR", 0, "2026-03-01")
        assert listed(page, "2026-03-01", "Subscription ID") == [
            "sA",
            "sB",
            "sC1",
            "sD",
            "sH2",
        ]
        go(page, served, "Subscriptions & churn")
        click(page, "Logo retention by cohort", 0, "2026-01|1")
        assert listed(page, "Cohort 2026-01, 1 months on", "Customer ID") == ["A", "C", "D", "H"]
        browser.close()


HOSTILE = "![x](http://127.0.0.1:9/p.png) :red[ALERT] [log in](http://phish.example) <b>bold</b>"


def test_an_api_error_is_shown_as_text_not_as_markdown(warehouse, tmp_path, reliability):
    import json

    from playwright.sync_api import sync_playwright

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    problem = {"finished_at": "2026-04-02T00:00:00+00:00", "exit_code": 1, "problem": HOSTILE}
    (tmp_path / "w.duckdb.status.json").write_text(json.dumps(problem))
    with Dashboard(copy, port=free_port()) as dashboard, sync_playwright() as p:
        browser, page = open_browser(p)
        page.goto(dashboard.url)
        page.get_by_text("The last sync failed").first.wait_for(timeout=30_000)
        message = page.locator("[data-testid=stText]").first
        assert message.inner_text() == HOSTILE  # every character, as written
        main = page.locator("[data-testid=stMain]")
        assert main.locator("img, a[href*='phish'], a[href*='127.0.0.1:9'], b").count() == 0
        browser.close()
    reliability(
        "API text is not markdown",
        "a sync error holding an image link, :red[...], a phishing link and <b>, read in Chromium",
        1,
        "shown as written: no image fetched, no link, no markup",
    )


def handshake(port: int, host: str) -> str:
    """The status line the dashboard's WebSocket answers a browser that reached it under `host`."""
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        return s.recv(1024).decode(errors="replace").split("\r\n")[0]


def test_a_page_under_another_host_name_gets_no_data(warehouse, reliability):
    """DNS rebinding: a page on rebind.attacker.example whose name now points here reaches the port,
    but the WebSocket that carries every figure is refused for a Host that is not this machine's."""
    port = free_port()
    with Dashboard(warehouse, port=port):
        assert " 101 " in handshake(port, "127.0.0.1")
        assert " 101 " in handshake(port, "localhost")
        refused = handshake(port, "rebind.attacker.example")
        assert " 101 " not in refused and refused.startswith("HTTP/1.1 4"), refused
    reliability(
        "DNS rebinding",
        "the dashboard's WebSocket opened with Host rebind.attacker.example",
        1,
        f"refused ({refused.split(' ', 1)[1]}); loopback names are answered",
    )


def test_downloads_and_metrics_need_the_password(warehouse, tmp_path, reliability):
    """An export's file (/media/<id>) goes only to the browser that gave the password; the server's
    counters (/_stcore/metrics) to nobody."""
    from playwright.sync_api import sync_playwright

    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    settings = {"DODO_ANALYTICS_PASSWORD_FILE": str(secret)}
    with Dashboard(warehouse, port=free_port(), settings=settings) as dashboard, sync_playwright() as p:
        browser, page = open_browser(p)
        page.goto(dashboard.url)
        page.get_by_label("Password", exact=True).fill("s3cret")
        page.keyboard.press("Enter")
        page.get_by_role("link", name="Exports").click()
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="Download payments.csv").click()
        url = download.value.url
        assert "/media/" in url
        given = page.request.get(url)  # the browser that gave the password, its cookies
        assert given.status == 200 and b"Payment ID" in given.body()
        stranger = browser.new_context().request.get(url)  # the same link, another browser
        assert stranger.status == 403 and b"Payment ID" not in stranger.body()
        assert page.request.get(f"{dashboard.url}/_stcore/metrics").status == 404
        browser.close()
    reliability(
        "Downloads need the password",
        "an export's download link fetched by the browser that gave the password and by another; "
        "/_stcore/metrics fetched",
        3,
        "the file goes to the first only (403 for the other); the metrics are not served (404)",
    )


@pytest.fixture(scope="module")
def finance_served(tmp_path_factory):
    """The dashboard over the finance business (helpers.FINANCE_LEDGER)."""
    from helpers import publish_finance

    path = tmp_path_factory.mktemp("finance") / "finance.duckdb"
    publish_finance(path)
    with Dashboard(path, port=free_port()) as dashboard:
        yield dashboard.url


def test_a_payout_lists_the_entries_it_settles(finance_served, tmp_path):
    """The Payouts & balance page: clicking March 1's USD payout lists the six entries of rU1 and pU3
    it settled."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_browser(p)
        page.goto(finance_served)
        page.get_by_text("Gross volume").first.wait_for(timeout=30_000)
        page.get_by_role("link", name="Payouts & balance").click()
        page.get_by_text("Payouts not tying out").first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot", has_text="Payouts").first.wait_for(timeout=30_000)
        click(page, "Payouts", 0, "2026-03-01")
        assert listed(page, "2026-03-01", "Entry ID") == ["e10", "e11", "e12", "e13", "e14", "e9"]
        page.screenshot(path=str(tmp_path / "payouts.png"), full_page=True)
        assert "Traceback" not in page.inner_text("body")
        browser.close()


def test_a_record_opens_its_customers_profile(finance_served):
    """The Records page's customers (the finance business): each row links to the customer's profile;
    the link opens it with the customer's figures."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_browser(p)
        page.goto(finance_served)
        page.get_by_text("Gross volume").first.wait_for(timeout=30_000)
        page.get_by_role("link", name="Records").click()
        page.get_by_role("heading", name="Records").first.wait_for(timeout=30_000)
        page.get_by_text("Customers", exact=True).click()
        page.get_by_label("Id, email or name contains").fill("ann@")
        page.keyboard.press("Enter")
        grid = page.locator("[data-testid=stDataFrame]").last
        grid.locator("td", has_text="customer?customer=cA").wait_for(state="attached", timeout=30_000)
        box = grid.bounding_box()  # the grid is a canvas: its first row's Profile cell, the first column
        x, y = box["x"] + 40, box["y"] + 35 + 17
        page.mouse.click(x, y)  # the first click selects the cell, as a person's does
        page.wait_for_timeout(500)
        with page.context.expect_page() as opened:
            page.mouse.click(x, y)
        profile = opened.value
        profile.get_by_text("Revenue to date (USD)").first.wait_for(timeout=30_000)
        assert "165.00 USD" in profile.inner_text("body")  # pU1 110.00 + pU2 55.00
        assert profile.url.endswith("/customer?customer=cA")
        browser.close()
