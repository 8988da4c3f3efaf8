"""Dashboard timing on a large warehouse: each page run in Streamlit's AppTest (cold, then warm with
the cache filled), and each page fully rendered in headless Chromium served by `streamlit run`.

    .venv/bin/python bench/dashboard_bench.py [var/bench-1m.duckdb]
"""

import os
import shutil
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.published import read  # noqa: E402
from dashboard.server import APP as dashboard_app  # noqa: E402
from dashboard.server import Dashboard, DashboardError  # noqa: E402

APP = str(dashboard_app)
PAGES = {
    "Overview": "views/overview.py",
    "Revenue": "views/revenue.py",
    "Subscriptions & churn": "views/subscriptions.py",
    "Growth & trials": "views/growth.py",
    "Failures": "views/failures.py",
    "Payouts & balance": "views/payouts.py",
    "Records": "views/records.py",
    "Customer profile": "views/customer.py",
    "Exports": "views/exports.py",
}


def busiest_customer(warehouse: str) -> str:
    """The customer with the most payments: the profile with the most to show."""
    sql = "SELECT customer_id FROM payments GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    return str(read(warehouse, sql).iloc[0, 0])


def apptest(warehouse: str) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["DODO_ANALYTICS_WAREHOUSE"] = warehouse
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    customer = busiest_customer(warehouse)
    for title, page in PAGES.items():
        times = []
        for _ in range(2):
            t = time.perf_counter()
            at.switch_page(page)
            if title == "Customer profile":
                at.query_params["customer"] = customer
            at.run()
            times.append(time.perf_counter() - t)
            assert not at.exception, at.exception
        print(f"  {title:24s} page script cold {times[0]:5.2f} s, warm {times[1]:5.2f} s")


def browser(warehouse: str) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        dashboard = Dashboard(warehouse, port=port)
    except DashboardError as exc:
        raise SystemExit(str(exc)) from None
    url = dashboard.url
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = b.new_page()
            page.goto(url)
            page.get_by_text("Gross volume").first.wait_for(timeout=120_000)
            customer = busiest_customer(warehouse)
            for title in PAGES:
                for run in ("first", "again"):
                    t = time.perf_counter()
                    page.get_by_role("link", name=title).click()
                    page.get_by_role("heading", name=title).wait_for(timeout=120_000)
                    if title == "Customer profile":  # searched by id, as from a support ticket
                        page.get_by_label("Find a customer by e-mail, name or id").fill(customer)
                        page.keyboard.press("Enter")
                        page.get_by_text("Revenue to date").first.wait_for(timeout=120_000)
                    page.wait_for_function(
                        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
                    )
                    print(f"  {title:24s} rendered in Chromium ({run}) {time.perf_counter() - t:5.2f} s")
            b.close()
    finally:
        dashboard.stop()


if __name__ == "__main__":
    warehouse = sys.argv[1] if len(sys.argv) > 1 else "var/bench-1m.duckdb"
    print(f"dashboard on {warehouse}")
    apptest(warehouse)
    browser(warehouse)
