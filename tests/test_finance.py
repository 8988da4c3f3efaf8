"""Finance's reports on a business small enough to work out by hand: two currencies, three payouts
(one whose list amount the ledger does not cover), a refund, a lost dispute, an adjustment, and a
March still running at data_through: helpers.FINANCE_LEDGER, each entry's effect worked out in its
comments. Every figure below is computed in the comments next to it."""

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import dodo_cli
from etl import metrics
from helpers import FINANCE_THROUGH, publish_finance

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    path = tmp_path_factory.mktemp("finance") / "w.duckdb"
    publish_finance(path)
    return path


def table(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_month_end_close_ties_to_the_ledger(published):
    rows = table(
        published,
        "SELECT month::VARCHAR, currency, opening_balance, payments, tax, fees, refunds, tax_reversals, disputes, "
        "adjustments, payouts, closing_balance, break, is_complete FROM month_end_close ORDER BY currency, month",
    )
    assert rows == [
        # EUR Jan: 100.00 in, fees 4.40 + 15.00, dispute 100.00 out: -19.40
        ("2026-01-01", "EUR", 0, 10000, 0, -1940, 0, 0, -10000, 0, 0, -1940, 0, True),
        # Feb: 200.00 in, fee 8.40: -19.40 + 191.60 = 172.20
        ("2026-02-01", "EUR", -1940, 20000, 0, -840, 0, 0, 0, 0, 0, 17220, 0, True),
        # Mar (partial): the payout of 172.20 with its fee, an adjustment of 5.00
        ("2026-03-01", "EUR", 17220, 0, 0, 0, 0, 0, 0, 500, -17220, 500, 0, False),
        # USD Jan: 165.00 in, tax 15.00, fees 7.40: 142.60
        ("2026-01-01", "USD", 0, 16500, -1500, -740, 0, 0, 0, 0, 0, 14260, 0, True),
        # Feb: 142.60 paid out; 220.00 in, tax 20.00, fees 9.20 + 0.40; refund 55.00, tax back 5.00
        ("2026-02-01", "USD", 14260, 22000, -2000, -960, -5500, 500, 0, 0, -14260, 14040, 0, True),
        # Mar: 140.40 paid out; 33.00 in, tax 3.00, fee 1.72
        ("2026-03-01", "USD", 14040, 3300, -300, -172, 0, 0, 0, 0, -14040, 2828, 0, False),
    ]
    usd = table(
        published,
        "SELECT month::VARCHAR, payments, disputes, adjustments FROM month_end_close_usd ORDER BY 1",
    )
    # USD 165.00 + EUR 100.00 x 1.1 in January; EUR's dispute 110.00; March's EUR adjustment 5.50
    assert usd == [
        ("2026-01-01", 27500, -11000, 0),
        ("2026-02-01", 44000, 0, 0),
        ("2026-03-01", 3300, 0, 550),
    ]


def test_a_close_that_does_not_tie_names_the_month_and_currency(published, tmp_path):
    """An entry missing from the ledger (the sync lost f5's 200.00) shows as a break in its month."""
    broken = tmp_path / "b.duckdb"
    broken.write_bytes(published.read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute("DELETE FROM ledger_entries WHERE id = 'f5'")
        metrics.rebuild(con, "UTC", 30, 30, FINANCE_THROUGH)
        breaks = con.execute(
            "SELECT month::VARCHAR, currency, break FROM month_end_close WHERE break <> 0"
        ).fetchall()
    assert breaks == [("2026-02-01", "EUR", 20000)]


def test_each_payout_ties_out_or_shows_its_difference(published):
    rows = table(
        published,
        "SELECT payout_id, currency, amount, fee, entries, payments, tax, fees, refunds, tax_reversals, disputes, "
        "adjustments, settled, difference FROM payout_tieout ORDER BY created_at, payout_id",
    )
    assert rows == [
        # pU1 and pU2: 165.00 - 15.00 - 7.40 = 142.60 = 141.89 + 0.71
        ("yU1", "USD", 14189, 71, 6, 16500, -1500, -740, 0, 0, 0, 0, 14260, 0),
        # pE1, dE1, pE2: 100.00 - 4.40 - 100.00 - 15.00 + 200.00 - 8.40 = 172.20; the list says 171.00 + 0.86
        ("yE1", "EUR", 17100, 86, 6, 30000, 0, -2780, 0, 0, -10000, 0, 17220, 34),
        # rU1 and pU3: -55.00 + 5.00 - 0.40 + 220.00 - 20.00 - 9.20 = 140.40 = 139.70 + 0.70
        ("yU2", "USD", 13970, 70, 6, 22000, -2000, -960, -5500, 500, 0, 0, 14040, 0),
    ]
    # the adjustment and pU4 came after every payout: settled by none yet
    assert table(published, "SELECT entry_id FROM ledger_lines WHERE payout_id IS NULL ORDER BY 1") == [
        ("e17",),
        ("e18",),
        ("e19",),
        ("f9",),
    ]


def export(published, tmp_path, what, fmt="csv", *more):
    out = tmp_path / f"{what}.{fmt}"
    code = dodo_cli.main(
        ["export", "--what", what, "--format", fmt, "--out", str(out), "--warehouse", str(published), *more]
    )
    assert code == 0
    return out


def csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_the_payments_report_has_dodos_columns_and_the_ledgers_fees(published, tmp_path):
    frame = csv(export(published, tmp_path, "payments")).set_index("Payment ID")
    assert list(frame.columns[:17]) == [
        "Created At",
        "Customer ID",
        "Customer Name",
        "Customer Email",
        "Billing Country",
        "Amount",
        "Tax",
        "Currency",
        "Settlement Amount",
        "Settlement Tax",
        "Settlement Currency",
        "Payment Method",
        "Payment Method Type",
        "Payment Status",
        "Payment Fee",
        "Net Amount In Wallet After Fees",
        "Metadata",
    ]
    u3 = frame.loc["pU3"]
    # 220.00 with 20.00 tax (from the ledger) and a 9.20 fee: 190.80 net; the wallet after it: 0 after
    # yU1, then -55.00 + 5.00 - 0.40 (rU1) + 190.80 = 140.40 (e14's after-balance)
    assert (u3["Amount"], u3["Tax"], u3["Payment Fee"], u3["Net Amount"]) == (
        "220.00",
        "20.00",
        "9.20",
        "190.80",
    )
    assert u3["Net Amount In Wallet After Fees"] == "140.40"
    assert frame.loc["pE1", "Tax"] == "0.00"  # booked with no tax entry: no tax
    failed = frame.loc["pF"]
    assert (failed["Payment Fee"], failed["Net Amount In Wallet After Fees"], failed["Tax"]) == (
        "0.00",
        "",
        "",
    )


def test_refunds_sales_customers_ledger_and_payouts_reports(published, tmp_path):
    refund = csv(export(published, tmp_path, "refunds")).iloc[0]
    assert (
        refund["Refund Type"],
        refund["Refund Amount"],
        refund["Refund Settlement Tax"],
        refund["Refund Fee"],
    ) == (
        "full",
        "55.00",
        "5.00",
        "0.40",
    )
    sales = csv(export(published, tmp_path, "sales"))
    # no product is known (no detail, no subscription): one line per currency, said so
    assert list(
        zip(
            sales["Currency"],
            sales["Quantity"],
            sales["Total Sales Volume"],
            sales["Net Revenue"],
            strict=True,
        )
    ) == [
        ("EUR", "2", "300.00", "300.00"),
        ("USD", "4", "418.00", "380.00"),  # 110 + 55 + 220 + 33, less 10 + 5 + 20 + 3 of tax
    ]
    customers = csv(export(published, tmp_path, "customers")).set_index("Customer ID")
    assert customers.loc["cC", "Customer Name"] == "'=Carla"  # neutralised for spreadsheets
    assert (customers.loc["cC", "Success Orders Amount"], customers.loc["cC", "Total Disputes Amount"]) == (
        "300.00",
        "100.00",
    )
    assert (
        customers.loc["cD", "Success Orders Count"] == "0"
        and customers.loc["cD", "Settlement Currency"] == ""
    )
    ledger = csv(export(published, tmp_path, "ledger")).set_index("Ledger Entry ID")
    assert list(ledger.columns[:7]) == [
        "Event Type",
        "Amount",
        "Currency",
        "Is Credit",
        "Reference Object ID",
        "Created At",
        "Payout ID",
    ]
    assert (
        ledger.loc["e9", "Payout ID"],
        ledger.loc["e9", "Settled By Payout"],
        ledger.loc["e9", "Is Credit"],
    ) == (
        "",
        "yU2",
        "false",
    )
    payouts = csv(export(published, tmp_path, "payouts")).set_index("Payout ID")
    assert (payouts.loc["yE1", "Difference"], payouts.loc["yE1", "Ties Out"]) == ("0.34", "false")
    eur = csv(export(published, tmp_path, "close", "csv", "--currency", "eur", "--from", "2026-02-01"))
    assert list(eur["Month"]) == ["2026-02-01", "2026-03-01"] and set(eur["Currency"]) == {"EUR"}


@pytest.mark.parametrize("what", ["payments", "ledger", "payouts", "close", "customers"])
def test_xlsx_and_parquet_hold_what_the_csv_holds(published, tmp_path, what):
    from openpyxl import load_workbook

    text = csv(export(published, tmp_path, what))
    book = load_workbook(export(published, tmp_path, what, "xlsx"), read_only=True)
    sheet = book[what]
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == list(text.columns)
    with duckdb.connect() as con:
        parquet = con.execute(f"SELECT * FROM '{export(published, tmp_path, what, 'parquet')}'").fetchall()
    assert len(cells) - 1 == len(parquet) == len(text)
    for row, xrow, prow in zip(text.itertuples(index=False), cells[1:], parquet, strict=True):
        xrow = [*xrow, *[None] * (len(row) - len(xrow))]  # a row's empty cells at its end are not stored
        for title, value, x, p in zip(text.columns, row, xrow, prow, strict=True):
            assert same(value, x) and same(value, p), (title, value, x, p)


def same(text: str, typed) -> bool:
    """Whether a typed cell (XLSX or Parquet) holds what the CSV's text says."""
    if typed is None:
        return text == ""
    if isinstance(typed, bool):
        return text == str(typed).lower()
    if isinstance(typed, datetime):
        return (
            text == typed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            if typed.tzinfo
            else (text == typed.strftime("%Y-%m-%d %H:%M:%S.%f") or text == typed.strftime("%Y-%m-%d"))
        )
    if isinstance(typed, int | float) or type(typed).__name__ == "Decimal":
        return float(text) == float(typed)
    if type(typed).__name__ == "date":
        return text == typed.isoformat()
    return text == str(typed) or text == "'" + str(typed)  # Parquet keeps text as it came


def test_xlsx_cells_are_typed_with_each_currencys_decimals(published, tmp_path):
    from openpyxl import load_workbook

    sheet = load_workbook(export(published, tmp_path, "payments", "xlsx"))["payments"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    amount, created = header.index("Amount") + 1, header.index("Created At") + 1
    first = sheet.cell(row=2, column=amount)
    assert isinstance(first.value, int | float) and first.number_format == "0.00"
    assert isinstance(sheet.cell(row=2, column=created).value, datetime)


def test_the_payouts_page_shows_the_balance_payouts_and_tie_outs(published, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(published))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.sidebar.selectbox(key="currency").set_value("USD")
    at.sidebar.selectbox(key="preset").set_value("All time")
    at.run()
    at.switch_page("views/payouts.py").run()
    assert not at.exception, [e.message for e in at.exception]
    cards = {m.label: m.value for m in at.metric}
    assert cards["Balance at the period's end"] == "28.28 USD"  # after pU4 on Mar 10
    assert cards["Paid out"] == "281.59 USD"  # yU1 141.89 + yU2 139.70
    # and EUR's 171.34 at Dodo's rate, 188.47: 141.89 + 139.70 + 188.47
    assert cards["Paid out, every currency"] == "470.06 USD"
    assert cards["Payouts not tying out"] == "1 of 3"  # yE1, 0.34 short


def test_an_export_never_follows_a_link_nor_leaves_half_a_file(published, tmp_path, capsys):
    target = tmp_path / "elsewhere.csv"
    target.write_text("not yours\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    args = ["export", "--what", "payments", "--warehouse", str(published)]
    assert dodo_cli.main([*args, "--out", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err and target.read_text() == "not yours\n"
    good = export(published, tmp_path, "payments")
    before = good.read_bytes()
    old = tmp_path / "old.duckdb"  # a warehouse published before the ledger's tables existed
    old.write_bytes(published.read_bytes())
    with duckdb.connect(str(old)) as con:
        con.execute("DROP TABLE ledger_lines")
    assert dodo_cli.main(["export", "--what", "payments", "--out", str(good), "--warehouse", str(old)]) == 1
    assert "run `dodo-analytics sync`" in capsys.readouterr().err
    assert (
        good.read_bytes() == before
        and sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []
    )


def test_every_table_as_parquet_reads_back_whole(published, tmp_path, capsys):
    out = tmp_path / "tables"
    assert (
        dodo_cli.main(
            [
                "export",
                "--what",
                "all",
                "--format",
                "parquet",
                "--out",
                str(out),
                "--warehouse",
                str(published),
            ]
        )
        == 0
    )
    assert "as Parquet under" in capsys.readouterr().out
    with duckdb.connect() as con, duckdb.connect(str(published), read_only=True) as source:
        for (table,) in source.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall():
            assert (
                con.execute(f"SELECT count(*) FROM '{out / table}.parquet'").fetchone()
                == source.execute(f"SELECT count(*) FROM {table}").fetchone()
            ), table
        close = con.execute(
            f"SELECT sum(payments) FROM '{out}/month_end_close.parquet' WHERE currency = 'USD'"
        )
        assert close.fetchone() == (41800,)  # exact: 128-bit sums as DECIMAL(38,0), not a DOUBLE
    assert dodo_cli.main(["export", "--what", "all", "--out", str(out), "--warehouse", str(published)]) == 2
    assert "add --format parquet" in capsys.readouterr().err


def test_the_payouts_page_names_a_close_that_breaks(published, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    broken = tmp_path / "b.duckdb"
    broken.write_bytes(published.read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute("DELETE FROM ledger_entries WHERE id = 'f5'")  # EUR's 200.00 of Feb 20, lost
        metrics.rebuild(con, "UTC", 30, 30, FINANCE_THROUGH)
    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(broken))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/payouts.py").run()
    assert not at.exception
    assert any("does not tie" in e.value for e in at.error)
    assert [t.value for t in at.text] == ["2026-02 EUR: 200.00 EUR"]


def test_the_customer_profile_of_a_refunded_and_a_disputed_customer(published, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DODO_ANALYTICS_WAREHOUSE", str(published))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/customer.py").run()
    at.text_input(key="customer_search").input("ann@").run()
    assert not at.exception, [e.message for e in at.exception]
    cards = {m.label: m.value for m in at.metric}
    # pU1 110.00 and pU2 55.00, pU2 refunded whole
    assert (
        cards["Revenue to date (USD)"] == "165.00 USD"
        and cards["Net of refunds and lost disputes (USD)"] == "110.00 USD"
    )
    assert (cards["Payments"], cards["First payment"], cards["Last payment"]) == (
        "2",
        "2026-01-10",
        "2026-01-20",
    )
    timeline = at.dataframe[-1].value
    assert list(timeline["Event"]) == ["refund", "payment", "payment"]  # newest first
    assert list(timeline["Value"]) == ["55.00 USD", "55.00 USD", "110.00 USD"]
    at.text_input(key="customer_search").input("carla").run()
    cards = {m.label: m.value for m in at.metric}
    # pE1 100.00 and pE2 200.00, pE1's dispute lost
    assert (
        cards["Revenue to date (EUR)"] == "300.00 EUR"
        and cards["Net of refunds and lost disputes (EUR)"] == "200.00 EUR"
    )
    assert at.text[0].value.startswith("=Carla <carla@example.com>")  # the API's text, as text
