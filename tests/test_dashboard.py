"""The dashboard pages (Streamlit AppTest) on the hand-computed warehouse of test_metrics, on no
warehouse at all, and with filters; and the CSV builders."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.published import read
from etl import metrics
from etl import warehouse as wh
from harness import Harness
from helpers import NOW, add_pay, build, make_api, publish_business, ts
from reports import exports, failures, money, overview, revenue, subscriptions
from reports.filters import Filters
from reports.query import Chart, bind, names

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
PAGES = [
    "views/overview.py",
    "views/revenue.py",
    "views/subscriptions.py",
    "views/failures.py",
    "views/records.py",
    "views/exports.py",
    "views/payouts.py",
    "views/customer.py",
    "views/growth.py",
]


def open_page(page: str, currency: str | None = "USD", preset: str | None = "All time") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if currency and at.sidebar.selectbox:
        at.sidebar.selectbox(key="currency").set_value(currency)
        at.sidebar.selectbox(key="preset").set_value(preset)
        at.run()
    if page != PAGES[0]:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_warehouse(warehouse, monkeypatch, page):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    at = open_page(page)
    assert "Data through 2026-04-01 00:00 UTC" in " ".join(
        w.value for w in at.warning
    )  # and it is old: a warning


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_a_missing_warehouse(tmp_path, monkeypatch, page):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(tmp_path / "none.duckdb"))
    at = open_page(page, currency=None)
    assert "Run `dodo-analytics sync`" in at.info[0].value


def test_headline_numbers_match_the_hand_computed_fixture(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    overview = open_page(PAGES[0])
    assert metric(overview, "MRR") == "55.00 USD"  # A 1000 + B 1000 + C 500 + D 2000 + H 1000 cents
    assert metric(overview, "Paying customers") == "5"
    assert metric(overview, "Gross volume") == "271.20 USD"  # 27120 cents, all time
    revenue = open_page(PAGES[1])
    assert metric(revenue, "Net volume") == "249.20 USD"  # 27120 - 200 refund - 2000 lost dispute
    subs = open_page(PAGES[2])
    assert (
        metric(subs, "ARPA") == "11.00 USD" and metric(subs, "LTV") == "88.00 USD"
    )  # 5500 / 5; 1100 / 0.125
    failures = open_page(PAGES[3])
    assert (
        metric(failures, "Failed payments") == "1"
        and metric(failures, "Failures with reason not fetched yet") == "1"
    )


def test_changes_compare_complete_days_and_say_with_what(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    overview = open_page(PAGES[0], preset="Last 30 days")  # Mar 3 to Apr 1; Apr 1 has only begun
    deltas = {m.label: m.delta for m in overview.metric}
    # Mar 3-31 (5020: C1 500, D 2000, G 520, H 1000, A 1000) against Feb 2 - Mar 2 (17800)
    assert deltas["Gross volume"] == f"{(5020 - 17800) / 17800:+.1%} vs the 29 days before"
    assert deltas["MRR"] == "+0.0% vs the end of Mar 2026"  # now is the end of March
    assert deltas["Customer churn, Mar 2026"] == "-25.0% vs Feb 2026"  # 0 of 4 against 1 of 4


def test_filters_change_the_numbers_and_survive_page_changes(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    at = open_page(PAGES[2], currency="KWD")
    assert metric(at, "MRR") == "1.500 KWD"  # three decimals
    at.switch_page(PAGES[0])
    at.run()
    assert at.sidebar.selectbox(key="currency").value == "KWD"
    at = open_page(PAGES[0], currency="JPY")
    assert metric(at, "MRR") == "3,000 JPY"  # zero decimals


def with_password(monkeypatch, tmp_path, password: str = "s3cret") -> Path:
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    monkeypatch.setenv("DODO_ANALYTICS_PASSWORD_FILE", str(secret))
    return secret


def test_a_password_gates_every_page(warehouse, monkeypatch, tmp_path):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    with_password(monkeypatch, tmp_path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.metric and not at.title and len(at.text_input) == 1
    at.text_input[0].input("wrong").run()  # answered after a wait of a second
    assert at.error and not at.metric
    at.text_input[0].input("s3cret").run()
    assert metric(at, "MRR")


def test_an_unreadable_password_file_shows_nothing(warehouse, monkeypatch, tmp_path, reliability):
    """The gate once failed open: no readable secrets meant no password. Now a configured password
    that cannot be read stops every page, wherever the dashboard was started from."""
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    secret = with_password(monkeypatch, tmp_path)
    tried = 0
    for spoil in (lambda: secret.write_text(""), lambda: secret.write_bytes(b"\xff\xfe"), secret.unlink):
        spoil()
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.metric and not at.title and not at.text_input and not at.exception
        assert "DODO_ANALYTICS_PASSWORD_FILE" in at.error[0].value
        tried += 1
    reliability(
        "The password gate fails closed",
        "the password file empty, not UTF-8, or gone",
        tried,
        "no page renders; the error names the setting",
    )


def test_serving_beyond_this_machine_needs_a_password(monkeypatch, tmp_path, capsys, reliability):
    import dodo_cli

    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("DODO_ANALYTICS_PASSWORD_FILE", raising=False)
    assert dodo_cli.main(["dashboard", "--host", "0.0.0.0"]) == 2
    said = capsys.readouterr().err
    assert "no password is set" in said and "DODO_ANALYTICS_PASSWORD_FILE" in said and "--no-password" in said
    monkeypatch.setenv("DODO_ANALYTICS_PASSWORD_FILE", str(tmp_path / "missing"))
    assert dodo_cli.main(["dashboard"]) == 2  # an unreadable password file: refused before starting
    assert "cannot be read" in capsys.readouterr().err
    reliability(
        "No open dashboard on the network by accident",
        "--host 0.0.0.0 without a password; a password file that cannot be read",
        2,
        "refused with exit 2, saying which setting or flag to use",
    )


def test_the_dashboard_answers_only_its_own_host_names(monkeypatch):
    from dashboard.server import streamlit_command

    monkeypatch.setenv("DODO_ANALYTICS_ALLOWED_HOSTS", "analytics.example.com, 10.0.0.5")
    cmd, _ = streamlit_command("w.duckdb", "0.0.0.0", 8501)
    hosts = [cmd[i + 1] for i, flag in enumerate(cmd) if flag == "--server.allowedHosts"]
    assert hosts == ["127.0.0.1", "::1", "localhost", "analytics.example.com", "10.0.0.5"]


# -- CSV builders ------------------------------------------------------------------------------------
def test_amounts_use_each_currencys_decimals():
    assert money.major(123456, "USD") == "1234.56"
    assert money.major(1500, "JPY") == "1500"
    assert money.major(2763, "KWD") == "2.763"
    assert money.major(-200, "EUR") == "-2.00"
    assert money.major(1234.5, "USD") == "12.34" and money.major(1235.5, "USD") == "12.36"  # half to even
    assert money.major(None, "USD") is None
    assert all(money.missing(v) for v in (None, float("nan"), pd.NA, pd.NaT))
    assert not any(money.missing(v) for v in (0, 0.0, "", "USD"))


def test_formula_injection_is_neutralised_under_pandas_string_dtypes(reliability):
    for dtype in ("string", "str", object):
        column = pd.Series(
            ['=HYPERLINK("x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", None], dtype=dtype
        )
        out = list(exports.neutralise(column))
        assert out[:6] == ['\'=HYPERLINK("x")', "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx"]
        assert out[6] == "plain" and pd.isna(out[7])
    reliability(
        "CSV formula injection",
        "cells starting with = + - @ tab and carriage return, under 3 pandas string dtypes",
        3,
        "every one written as text",
    )


def test_exports_are_the_whole_filtered_set_with_bom_and_utc_times(warehouse, tmp_path):
    from core import published
    from reports import writers

    out = tmp_path / "p.csv"
    with published.connect(warehouse) as con:
        rows, _ = writers.write(
            con, "payments", "csv", out, date(2026, 1, 1), date(2026, 3, 31), "USD", "Europe/Berlin"
        )
        expected = con.execute(
            "SELECT count(*) FROM payments WHERE currency = 'USD' "
            "AND timezone('Europe/Berlin', created_at)::DATE BETWEEN '2026-01-01' AND '2026-03-31'"
        ).fetchall()[0][0]
        jpy = tmp_path / "jpy.csv"
        writers.write(con, "payments", "csv", jpy, None, None, "JPY", "UTC")
    body = out.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    # every USD payment of the fixture: A 4, B 1, C 5, D 4, G 1, H 2, T 1, pP, pU
    assert len(frame) == rows == expected == 20
    assert frame.columns[0] == "Payment ID"  # Dodo's column order: tests/test_finance.py
    b1 = frame[frame["Payment ID"] == "pB1"].iloc[0]
    # 2026-02-10 01:00 in Berlin, written in UTC as Dodo writes times
    assert (b1["Amount"], b1["Tax"], b1["Created At"]) == ("140.00", "20.00", "2026-02-10 00:00:00.000000")
    assert {len(t) for t in frame["Created At"]} == {26}  # one format for the whole column
    text = jpy.read_text(encoding="utf-8-sig")
    assert ",30.00," not in text and ",3000," in text and ",JPY," in text


def test_the_export_command_writes_the_same_file(warehouse, tmp_path, capsys):
    import dodo_cli
    from core import published
    from reports import writers

    out = tmp_path / "payments.csv"
    args = [
        "export",
        "--what",
        "payments",
        "--currency",
        "usd",
        "--out",
        str(out),
        "--warehouse",
        str(warehouse),
    ]
    code = dodo_cli.main([*args, "--from", "2026-02-01", "--to", "2026-02-28"])
    said = capsys.readouterr().out
    assert code == 0 and "(6 rows; times in UTC" in said  # pA2 pB1 pC1b pC2b pD3 pT0, "usd" matched to USD
    with published.connect(warehouse) as con:
        writers.write(
            con, "payments", "csv", tmp_path / "same.csv", date(2026, 2, 1), date(2026, 2, 28), "USD", "UTC"
        )
    assert out.read_bytes() == (tmp_path / "same.csv").read_bytes() and out.read_bytes().count(b"\n") == 1 + 6
    good = out.read_bytes()
    for bad in (["--from", "soon"], ["--from", "2026-03-01", "--to", "2026-02-01"], ["--currency", "XYZ"]):
        assert dodo_cli.main([*args, *bad]) == 2  # the last --currency wins
        assert out.read_bytes() == good  # the good file stays whole
    assert "ends (2026-02-01) before it starts" in capsys.readouterr().err


def test_a_failed_sync_after_the_published_one_shows_as_a_warning(warehouse, monkeypatch, tmp_path):
    import json
    import shutil

    copy = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, copy)
    (tmp_path / "w.duckdb.status.json").write_text(
        json.dumps(
            {
                "finished_at": "2026-04-02T00:00:00+00:00",
                "exit_code": 1,
                "problem": "GET /payments failed after 7 attempts",
            }
        )
    )
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(copy))
    at = open_page(PAGES[0])
    assert "The last sync failed, saying:" in at.warning[0].value
    assert at.text[0].value == "GET /payments failed after 7 attempts"  # plain text, never markdown


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A warehouse synced from a simulated business, as the demo makes one."""
    h = Harness(make_api(1500, seed=21), tmp_path_factory.mktemp("demo"), budget=200)
    assert h.sync() == 0
    return h.path


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_synced_business(synced, monkeypatch, page):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(synced))
    for currency in ("USD", "JPY", "KWD"):
        at = open_page(page, currency=currency, preset="Last 12 months")
        assert at.title[0].value and not at.error


def test_filter_values_travel_as_parameters(warehouse, monkeypatch, reliability):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    at = open_page(PAGES[4])
    for text in ("O'Brien\"; DROP TABLE payments; --", "Zoë 東京 %_"):
        at.text_input(key="records_search").input(text).run()
        assert not at.exception and not at.error
    # pasted into the SQL, this would match every row; as a parameter it matches none
    at.text_input(key="records_search").input("' OR 1=1 OR payment_id ILIKE '").run()
    assert not at.exception and (not at.dataframe or len(at.dataframe[0].value) == 0)
    at.text_input(key="records_search").input("A").run()
    assert len(at.dataframe[0].value) > 0  # customer A's payments: the same search does find rows
    reliability(
        "SQL from filters is parameterised",
        "searches with quotes, semicolons, DROP TABLE, unicode and an "
        "OR 1=1 that would match every row if pasted into the SQL, through the Records page",
        4,
        "no error; the OR 1=1 search matched 0 rows, a plain one found rows",
    )


def test_the_dashboard_binds_loopback_unless_told(reliability):
    from dashboard.server import streamlit_command

    cmd, _ = streamlit_command("w.duckdb", "127.0.0.1", 8501)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    import argparse

    from dashboard.cli import add_parsers

    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["dashboard"]).host == "127.0.0.1"
    assert 'address = "127.0.0.1"' in (Path(APP).parents[1] / ".streamlit" / "config.toml").read_text()
    reliability(
        "Dashboard binds loopback",
        "the command line, the CLI default and .streamlit/config.toml",
        3,
        "127.0.0.1 unless --host says otherwise",
    )


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_data_before_the_password(warehouse, monkeypatch, tmp_path, page, reliability):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    with_password(monkeypatch, tmp_path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.metric and not at.dataframe and not at.title and not at.sidebar.selectbox
    assert not at.exception and [t.label for t in at.text_input] == ["Password"]  # the prompt, not a crash
    reliability(
        "Nothing before the password",
        "each page opened with a password set and none typed",
        1,
        "only the password prompt: no metric, table, title or filter",
    )


def quarter(currency: str = "USD", grain: str = "day") -> Filters:
    """The filters of the fixture's first quarter, every product."""
    return Filters(currency, (), date(2026, 1, 1), date(2026, 3, 31), "UTC", grain)


def behind(warehouse, chart: Chart, filters: Filters, **more) -> pd.DataFrame:
    """The records behind picked points, asked for as ui.chart asks for them."""
    return read(warehouse, chart.records, bind(chart.records, chart.values(filters, **more)))


def test_the_records_behind_a_clicked_point(warehouse):
    def ids(chart, filters, **more):
        return sorted(behind(warehouse, chart, filters, **more).iloc[:, 0])

    assert ids(overview.REVENUE, quarter(), picked=["2026-02-10"]) == ["pB1"]
    assert ids(revenue.VOLUME, quarter(grain="month"), picked=["2026-02-01"]) == [
        "pA2",
        "pB1",
        "pC1b",
        "pC2b",
        "pD3",
    ]
    assert ids(failures.REASONS, quarter("EUR"), picked=["INSUFFICIENT_FUNDS"]) == ["pE2"]
    assert ids(failures.REASONS, quarter(), picked=["unknown"]) == ["pA0"]
    rows = behind(warehouse, subscriptions.MRR_AND_ARR, quarter(), picked=["2026-03-01"])
    # the five subscriptions paying at the end of March, 5500 in all
    assert sorted(rows["subscription_id"]) == ["sA", "sB", "sC1", "sD", "sH2"] and rows["mrr"].sum() == 5500


def test_exporting_customers_ignores_the_currency(warehouse, tmp_path):
    import dodo_cli

    out = tmp_path / "customers.csv"
    assert (
        dodo_cli.main(
            [
                "export",
                "--what",
                "customers",
                "--currency",
                "USD",
                "--out",
                str(out),
                "--warehouse",
                str(warehouse),
            ]
        )
        == 0
    )
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database")
    assert dodo_cli.main(["export", "--what", "payments", "--out", str(out), "--warehouse", str(broken)]) == 1


def test_custom_dates_start_from_the_data_not_the_wall_clock(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    at = open_page(PAGES[1], preset="Custom")
    assert [d.value for d in at.sidebar.date_input] == [date(2026, 3, 3), date(2026, 4, 1)]
    assert (
        metric(at, "Gross volume") == "50.20 USD"
    )  # Mar 3 to Apr 1: pC1c 5 + pD4 20 + pG1 5.20 + pH2 10 + pA3 10


def test_the_product_filter(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    con = wh.open_work(path)
    build(con)
    con.execute("UPDATE subscriptions SET product_id = 'pdt_y' WHERE subscription_id = 'sD'")
    con.execute(
        "INSERT INTO products (product_id, created_at, name) VALUES ('pdt_x', ?, 'Plan X'), ('pdt_y', ?, 'Plan Y')",
        [NOW, NOW],
    )
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    con.execute(
        "INSERT INTO sync_runs (run_id, started_at, finished_at, status, data_through) VALUES (1, ?, ?, 'ok', ?)",
        [NOW, NOW, NOW],
    )
    metrics.tie_out(con)
    con.close()
    wh.work_path(path).rename(path)
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(path))
    at = open_page(PAGES[0])
    at.sidebar.multiselect(key="products").set_value(["pdt_y"]).run()
    assert metric(at, "MRR") == "20.00 USD"  # D alone
    assert (
        metric(at, "Gross volume") == "55.00 USD" and metric(at, "Net volume") == "35.00 USD"
    )  # 5500 - 2000 lost
    at.switch_page(PAGES[1]).run()
    assert at.sidebar.multiselect(key="products").value == ["pdt_y"]
    assert metric(at, "Disputes lost") == "20.00 USD"
    at.switch_page(PAGES[2]).run()
    assert metric(at, "MRR") == "20.00 USD" and not at.exception
    at.switch_page(PAGES[3]).run()
    assert metric(at, "Failed payments") == "0"  # the failures are A's and E's


def test_exports_follow_the_product_filter(warehouse, tmp_path, capsys):
    import dodo_cli

    out = tmp_path / "subs.csv"
    args = ["export", "--what", "subscriptions", "--out", str(out), "--warehouse", str(warehouse)]
    assert dodo_cli.main([*args, "--product", "pdt_nothing"]) == 2  # no such product: said, no file
    assert "no product 'pdt_nothing'" in capsys.readouterr().err and not out.exists()
    payments = [
        "export",
        "--what",
        "payments",
        "--currency",
        "EUR",
        "--out",
        str(out),
        "--warehouse",
        str(warehouse),
    ]
    assert dodo_cli.main([*payments, "--product", "pdt_x"]) == 0
    assert "(2 rows;" in capsys.readouterr().out  # E's two payments, both on plan pdt_x
    assert out.read_bytes().count(b"\n") == 1 + 2


def test_the_records_behind_the_other_charts(warehouse):
    def first(chart, filters, picked):
        return sorted(behind(warehouse, chart, filters, picked=picked).iloc[:, 1])

    assert first(subscriptions.CHURN_TYPES, quarter(), ["2026-02-01"]) == ["H"]
    assert first(subscriptions.CHURN_RATES, quarter(), ["2026-03-01"]) == [
        "C",
        "H",
    ]  # contraction, reactivation
    assert first(failures.DISPUTES, quarter(), ["2026-03-01"]) == ["pD4"]
    assert first(failures.RECOVERY, quarter("EUR"), ["2026-02-01"]) == ["sE"]
    assert first(revenue.LOSSES, quarter(grain="month"), ["2026-02-01"]) == ["pA2"]
    weekly = behind(
        warehouse, failures.WEEKLY, quarter("EUR"), picked=["2026-02-09"]
    )  # the week of Monday Feb 9
    assert list(weekly["payment_id"]) == ["pE2"]


def test_the_records_behind_the_attribute_bars(warehouse):
    def ids(status, field, picked):
        chart = {"succeeded": revenue.SPLIT, "failed": failures.SPLIT}[status]
        return sorted(behind(warehouse, chart, quarter(), by=field, picked=picked)["payment_id"])

    assert (
        ids("succeeded", "kind", ["one-time"]) == []
    )  # every USD payment of the fixture is for a subscription
    assert len(ids("succeeded", "kind", ["recurring"])) == 16
    assert ids("failed", "method", ["unknown"]) == ["pA0"]  # no payment method in the fixture
    assert ids("succeeded", "product", ["pdt_x"]) == ids(
        "succeeded", "kind", ["recurring"]
    )  # no products table rows
    by_product = behind(warehouse, revenue.BY_PRODUCT, quarter(), picked=["pdt_x"])
    assert sorted(by_product["payment_id"]) == ids("succeeded", "kind", ["recurring"])


def test_a_checkout_of_several_subscriptions_is_recurring(tmp_path):
    def checkout(con):  # one payment starting sA and sC1: no subscription_id, both in subscription_ids
        con.execute(
            "INSERT INTO payments (payment_id, created_at, status, total_amount, currency, customer_id, "
            "subscription_ids, raw) VALUES ('pM', ?, 'succeeded', 1500, 'USD', 'M', ['sA', 'sC1'], '{}')",
            [ts("2026-03-25")],
        )

    path = tmp_path / "w.duckdb"
    publish_business(path, checkout)
    day = Filters("USD", (), date(2026, 3, 25), date(2026, 3, 25), "UTC", "day")
    split = read(path, revenue.SPLIT.sql, bind(revenue.SPLIT.sql, revenue.SPLIT.values(day, by="kind")))
    assert list(zip(split["kind"], split["amount"], strict=True)) == [("recurring", 1500)]
    assert list(behind(path, revenue.SPLIT, day, by="kind", picked=["recurring"])["payment_id"]) == ["pM"]


def test_the_customers_behind_a_cohort_cell(warehouse):
    rows = behind(warehouse, subscriptions.COHORTS, quarter(), months=1, cohort="2026-01")
    # January's cohort (A, C, D, H) one month on: H is not paying at the end of February
    assert sorted(rows["customer_id"]) == ["A", "C", "D", "H"]
    assert dict(zip(rows["customer_id"], rows["mrr_at_month_end"], strict=True))["H"] == 0


def test_fees_come_from_the_ledger_or_say_why_not(warehouse, synced, monkeypatch, tmp_path):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))  # the fixture's ledger is empty
    assert metric(open_page(PAGES[1]), "Fees") == "none yet"
    refused = tmp_path / "refused.duckdb"  # the last sync was refused the ledger (403)
    publish_business(
        refused, lambda con: con.execute("""UPDATE sync_runs SET skipped = '{"ledger": "403"}'""")
    )
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(refused))
    assert metric(open_page(PAGES[1]), "Fees") == "unavailable"
    ledger = tmp_path / "ledger.duckdb"  # one fee entry, in USD only
    publish_business(
        ledger,
        lambda con: con.execute(
            "INSERT INTO ledger_entries (id, created_at, amount, currency, event_type, is_credit) "
            "VALUES ('led_f', ?, 59, 'USD', 'payment_fees', false)",
            [ts("2026-03-15")],
        ),
    )
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(ledger))
    assert metric(open_page(PAGES[1], currency="USD", preset="All time"), "Fees (ledger)") == "0.59 USD"
    assert metric(open_page(PAGES[1], currency="EUR", preset="All time"), "Fees") == "none in EUR"
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(synced))
    at = open_page(PAGES[1], currency="USD", preset="All time")
    fees = read(
        str(synced), "SELECT sum(fees) - sum(fee_reversals) FROM fees_daily WHERE currency = 'USD'"
    ).iloc[0, 0]
    assert fees > 0 and metric(at, "Fees (ledger)") == f"{fees / 100:,.2f} USD"


# -- the read side: named parameters, filters, settings ----------------------------------------------
def test_a_query_is_given_only_the_names_it_uses():
    sql = "SELECT $currency AS c, '$not_a_name' AS t WHERE $currency = $currency AND day <= $end"
    assert names(sql) == {"currency", "end"}
    assert bind(sql, {**quarter().params(), "picked": ["x"]}) == {"currency": "USD", "end": date(2026, 3, 31)}
    with pytest.raises(KeyError, match=r"\$end"):
        bind(sql, {"currency": "USD"})


def test_filters_give_the_named_parameters_and_the_period_before():
    f = Filters("EUR", ("pdt_x",), None, date(2026, 3, 31), "Europe/Berlin")
    assert f.params() == {
        "currency": "EUR",
        "products": ["pdt_x"],
        "start": date(1970, 1, 1),  # all time
        "end": date(2026, 3, 31),
        "timezone": "Europe/Berlin",
        "grain": "day",
    }
    before = quarter().previous()  # Jan 1 to Mar 31 is 90 days: the 90 days before
    assert (before.start, before.end) == (date(2025, 10, 3), date(2025, 12, 31))


def _queries():
    """Every statement of the read side's pages: (name, SQL)."""
    from reports import filters, records, status

    for module in (overview, revenue, subscriptions, failures, records, filters, status):
        for name, value in vars(module).items():
            if isinstance(value, Chart):
                yield f"{module.__name__}.{name}", value.sql
                yield f"{module.__name__}.{name}.records", value.records
            elif name.isupper() and isinstance(value, str) and "SELECT" in value:
                yield f"{module.__name__}.{name}", value


def test_every_query_runs_with_named_parameters_only(warehouse):
    values = {
        **quarter().params(),
        "picked": [],
        "by": "kind",
        "status": "failed",
        "months": 1,
        "cohort": "2026-01",
        "month": date(2026, 3, 1),
        "search": "%",
        "statuses": [],
    }
    queries = dict(_queries())
    assert len(queries) > 40
    for name, sql in queries.items():
        assert "?" not in sql, name  # positional parameters would be bound in whatever order a caller picks
        read(warehouse, sql, bind(sql, values))  # DuckDB refuses a parameter a statement does not use


def test_a_bad_setting_stops_the_dashboard_with_one_line(warehouse, monkeypatch):
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DODO_ANALYTICS_STALE_HOURS", "soon")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and not at.title and not at.metric and not at.sidebar.selectbox
    assert [e.value for e in at.error] == [
        "DODO_ANALYTICS_STALE_HOURS must be a whole number between 1 and 8760 (got 'soon')"
    ]


def test_the_commands_refuse_a_bad_setting_before_starting(warehouse, tmp_path, monkeypatch, capsys):
    import subprocess

    import dodo_cli

    monkeypatch.setenv("DODO_PAYMENTS_ENVIRONMENT", "production")
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: pytest.fail("the dashboard was started"))
    assert dodo_cli.main(["dashboard", "--warehouse", str(warehouse)]) == 2
    assert "dodo-analytics dashboard: DODO_PAYMENTS_ENVIRONMENT must be" in capsys.readouterr().err
    out = tmp_path / "payments.csv"
    assert (
        dodo_cli.main(["export", "--what", "payments", "--out", str(out), "--warehouse", str(warehouse)]) == 2
    )
    assert "dodo-analytics export: DODO_PAYMENTS_ENVIRONMENT must be" in capsys.readouterr().err
    assert not out.exists()


def test_partial_buckets_are_marked_on_charts():
    from dashboard import figures
    from reports.filters import complete, mark_complete

    today = date(2026, 4, 1)  # data through some time on Apr 1 (local)
    assert complete(date(2026, 3, 31), "day", today) and not complete(today, "day", today)
    assert complete(date(2026, 3, 23), "week", today) and not complete(date(2026, 3, 30), "week", today)
    assert complete(date(2026, 3, 1), "month", today) and not complete(date(2026, 4, 1), "month", today)
    rows = mark_complete(
        pd.DataFrame({"day": [date(2026, 3, 31), today], "gross": [100, 50], "net": [90, 50]}),
        "day",
        "day",
        today,
    )
    bars = figures.bars(rows, "day", {"gross": "Gross", "net": "Net"}, "USD", "Volume")
    assert [list(t.marker.pattern.shape) for t in bars.data] == [["", "/"]] * 2
    assert "still running" in bars.layout.title.text
    line = figures.lines(rows, "day", {"gross": "Gross"}, "USD", "Volume")
    assert list(line.data[0].marker.symbol) == ["circle", "circle-open"]
    # every point carries its bucket's key, whatever x Plotly reports for a grouped bar
    assert [list(t.customdata) for t in bars.data] == [["2026-03-31", "2026-04-01"]] * 2


def test_pages_say_how_many_counted_payments_are_provisional(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    publish_business(
        path,
        lambda con: add_pay(con, "pMaybe", "2026-03-22", 100, "USD", "A", "sA", charge=None, detail=False),
    )
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(path))
    for page in PAGES[:2]:
        captions = [c.value for c in open_page(page).caption]
        assert any(c.startswith("1 succeeded payments (1.00 USD) count provisionally") for c in captions), (
            captions
        )


def test_record_tables_show_major_units_readable_headers_and_blanks(reliability):
    from reports.tables import shown

    rows = pd.DataFrame(
        {
            "payment_id": ["pB1", "pX"],
            "total_amount": [17800, 2763],
            "customer_email": ["b@example.com", None],
            "error_code": [None, '=HYPERLINK("http://x")'],
        }
    )
    table, decimals = shown(rows, "USD")
    assert list(table.columns) == ["Payment ID", "Total amount (USD)", "Customer email", "Error code"]
    assert list(table["Total amount (USD)"]) == [178.0, 27.63] and decimals == {"Total amount (USD)": 2}
    assert list(table["Customer email"]) == ["b@example.com", ""]  # a blank, not None
    assert list(table["Error code"]) == ["", '\'=HYPERLINK("http://x")']  # its own CSV download is safe
    kwd, decimals = shown(rows[["total_amount"]], "KWD")
    assert list(kwd["Total amount (KWD)"]) == [17.8, 2.763] and decimals == {"Total amount (KWD)": 3}
    reliability(
        "The table's own CSV download",
        "a =HYPERLINK(...) cell in a record table the dashboard shows",
        1,
        "shown, and so downloaded, as text",
    )


def test_labels_from_the_api_are_letters_in_plotly():
    from dashboard import figures

    product = "<a href='http://phish.example'>Pro</a>"
    fig = figures.bars(pd.DataFrame({"product": [product], "amount": [100]}), "product", {"amount": "Gross"})
    assert list(fig.data[0].x) == ["&lt;a href='http://phish.example'&gt;Pro&lt;/a&gt;"]
    assert list(fig.data[0].customdata) == [product]  # the key the records query gets stays the name


def test_growth_and_trials_of_the_hand_built_business(tmp_path, monkeypatch):
    """USD in March 2026 (test_metrics' MRR movements): 48.00 at the start, H's reactivation 10.00 and
    C's contraction 3.00: net new 7.00, growth 55.00 / 48.00 - 1 = +14.6%, quick ratio 10 / 3 = 3.33.
    With 14-day trials on sA (paid on Jan 15) and sT (only a zero card set-up): one converted, one lost."""
    from helpers import publish_business

    path = tmp_path / "w.duckdb"
    publish_business(
        path,
        more=lambda con: con.execute(
            "UPDATE subscriptions SET trial_period_days = 14 WHERE subscription_id IN ('sA', 'sT')"
        ),
    )
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(path))
    at = open_page("views/growth.py")
    cards = {m.label: m.value for m in at.metric}
    assert cards["Net new MRR, Mar 2026"] == "7.00 USD"
    assert cards["MRR growth, Mar 2026"] == "+14.6%" and cards["Quick ratio, Mar 2026"] == "3.33"
    assert (cards["Trials started"], cards["Converted to paid"], cards["Still in trial"]) == ("2", "1", "0")
    assert cards["Trial-to-paid conversion"] == "50.0%"


def test_a_series_has_one_colour_on_every_page():
    from dashboard import figures

    df = pd.DataFrame({"month": [date(2026, 1, 1), date(2026, 2, 1)], "a": [1, 2], "b": [3, 4]})
    line = figures.lines(df, "month", {"a": "MRR"}, "USD", right={"b": "ARR"})
    bars = figures.bars(df, "month", {"a": "MRR", "b": "Churn"}, "USD")
    assert (
        line.data[0].line.color
        == line.data[0].marker.color
        == bars.data[0].marker.color
        == figures.COLORS["MRR"]
    )
    assert (
        bars.data[1].marker.color == figures.COLORS["Churn"]
        and line.data[1].line.color == figures.COLORS["ARR"]
    )


def test_what_is_not_known_yet_is_said_not_plotted(warehouse, monkeypatch):
    """The hand-built business: USD's one failure (pA0) has no detail, and no payment has a billing
    country: no "unknown" bar, a sentence instead."""
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    failures_page = open_page(PAGES[3])
    captions = [c.value for c in failures_page.caption]
    assert "No failed payment of the period has its decline reason read yet." in captions
    charts = [c.proto.spec for c in failures_page.get("plotly_chart")]
    assert charts and not any("Failures by decline code" in spec for spec in charts)
    assert any("By payment method" in spec for spec in charts)
    revenue_page = open_page(PAGES[1])
    assert "By country (where known): nothing known yet." in [c.value for c in revenue_page.caption]


def test_the_exports_page_previews_and_says_when_a_format_cannot_hold_the_report(warehouse, monkeypatch):
    from reports import writers

    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(warehouse))
    at = open_page("views/exports.py")
    assert list(at.dataframe[0].value.columns[:2]) == ["Payment ID", "Created At"]
    assert any(c.value.startswith("20 rows. The first 20") for c in at.caption)  # USD, all time
    monkeypatch.setattr(writers, "SHEET_ROWS", 5)  # an Excel sheet smaller than the report
    at.radio[0].set_value("xlsx").run()
    assert not at.exception and "do not fit in one Excel sheet" in at.error[0].value
