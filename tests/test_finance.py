"""Finance's reports on a business small enough to work out by hand: two currencies, three payouts
(one whose list amount the ledger does not cover), a refund, a lost dispute, an adjustment, and a
March still running at data_through. Every figure below is computed in the comments next to it."""

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

import dodo_cli
from core.published import work_path
from etl import metrics
from etl import warehouse as wh
from helpers import add_pay, ts

THROUGH = datetime(2026, 3, 15, tzinfo=UTC)  # March is partial

# (id, when, amount, currency, event, credit, reference, payout set by Dodo)
# USD: pU1 110.00 (tax 10.00, fee 4.80) and pU2 55.00 (tax 5.00, fee 2.60) in January, paid out by yU1
# on Feb 1 (balance 142.60: 141.89 out, fee 0.71). rU1 refunds pU2 on Feb 5 (55.00 out, 5.00 tax
# back, fee 0.40); pU3 220.00 (tax 20.00, fee 9.20) on Feb 10; yU2 on Mar 1 takes 140.40 (139.70 out,
# fee 0.70). pU4 33.00 (tax 3.00, fee 1.72) on Mar 10 is not paid out yet.
# EUR: pE1 100.00 (no tax, fee 4.40) on Jan 15; dE1 disputes it on Jan 25 (100.00 out, fee 15.00) and
# is lost; no payout on Feb 1 (balance -19.40); pE2 200.00 (fee 8.40) on Feb 20; yE1 on Mar 1 takes
# 172.20 (171.34 out, fee 0.86), but the payout list says 171.00; an adjustment of 5.00 in on Mar 12.
LEDGER = [
    ("e1", "2026-01-10 00:10", 11000, "USD", "payment", True, "pU1", "yU1"),
    ("e2", "2026-01-10 00:10", 1000, "USD", "tax", False, "pU1", "yU1"),
    ("e3", "2026-01-10 00:10", 480, "USD", "payment_fees", False, "pU1", "yU1"),
    ("e4", "2026-01-20 00:10", 5500, "USD", "payment", True, "pU2", "yU1"),
    ("e5", "2026-01-20 00:10", 500, "USD", "tax", False, "pU2", "yU1"),
    ("e6", "2026-01-20 00:10", 260, "USD", "payment_fees", False, "pU2", "yU1"),
    ("e7", "2026-02-01 06:00", 14189, "USD", "payout", False, "yU1", "yU1"),
    ("e8", "2026-02-01 06:00", 71, "USD", "payout_fees", False, "yU1", "yU1"),
    # read before their payout was made: no payout id, settled by the next payout entry
    ("e9", "2026-02-05 00:00", 5500, "USD", "refund", False, "rU1", None),
    ("e10", "2026-02-05 00:00", 500, "USD", "tax_reversal", True, "rU1", None),
    ("e11", "2026-02-05 00:00", 40, "USD", "refund_fees", False, "rU1", None),
    ("e12", "2026-02-10 00:10", 22000, "USD", "payment", True, "pU3", None),
    ("e13", "2026-02-10 00:10", 2000, "USD", "tax", False, "pU3", None),
    ("e14", "2026-02-10 00:10", 920, "USD", "payment_fees", False, "pU3", None),
    ("e15", "2026-03-01 06:00", 13970, "USD", "payout", False, "yU2", None),
    ("e16", "2026-03-01 06:00", 70, "USD", "payout_fees", False, "yU2", None),
    ("e17", "2026-03-10 00:10", 3300, "USD", "payment", True, "pU4", None),
    ("e18", "2026-03-10 00:10", 300, "USD", "tax", False, "pU4", None),
    ("e19", "2026-03-10 00:10", 172, "USD", "payment_fees", False, "pU4", None),
    ("f1", "2026-01-15 00:10", 10000, "EUR", "payment", True, "pE1", None),
    ("f2", "2026-01-15 00:10", 440, "EUR", "payment_fees", False, "pE1", None),
    ("f3", "2026-01-25 00:00", 10000, "EUR", "dispute", False, "dE1", None),
    ("f4", "2026-01-25 00:00", 1500, "EUR", "dispute_fees", False, "dE1", None),
    ("f5", "2026-02-20 00:10", 20000, "EUR", "payment", True, "pE2", None),
    ("f6", "2026-02-20 00:10", 840, "EUR", "payment_fees", False, "pE2", None),
    ("f7", "2026-03-01 06:00", 17134, "EUR", "payout", False, "yE1", None),
    ("f8", "2026-03-01 06:00", 86, "EUR", "payout_fees", False, "yE1", None),
    ("f9", "2026-03-12 00:00", 500, "EUR", "adjustment", True, "adj1", None),
]
EUR_IN_USD = 1.1  # Dodo's rate in this business: usd_equivalent_amount = round(amount * 1.1)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    path = tmp_path_factory.mktemp("finance") / "w.duckdb"
    con = wh.open_work(path)
    for pay, when, total, currency, customer in [
        ("pU1", "2026-01-10", 11000, "USD", "cA"),
        ("pU2", "2026-01-20", 5500, "USD", "cA"),
        ("pU3", "2026-02-10", 22000, "USD", "cB"),
        ("pU4", "2026-03-10", 3300, "USD", "cB"),
        ("pE1", "2026-01-15", 10000, "EUR", "cC"),
        ("pE2", "2026-02-20", 20000, "EUR", "cC"),
    ]:
        add_pay(con, pay, when, total, currency, customer, detail=False)  # tax from the ledger only
    add_pay(con, "pF", "2026-02-11", 900, "USD", "cB", status="failed", detail=False)
    con.execute(
        "INSERT INTO customers (customer_id, created_at, name, email) VALUES "
        "('cA', '2026-01-01', 'Ann', 'ann@example.com'), ('cB', '2026-01-01', 'Bob', 'bob@example.com'), "
        "('cC', '2026-01-01', '=Carla', 'carla@example.com'), ('cD', '2026-01-01', 'Dee', 'dee@example.com')"
    )
    con.execute(
        "INSERT INTO refunds (refund_id, payment_id, created_at, status, amount, currency, is_partial) "
        "VALUES ('rU1', 'pU2', ?, 'succeeded', 5500, 'USD', false)",
        [ts("2026-02-05")],
    )
    con.execute(
        "INSERT INTO disputes (dispute_id, payment_id, created_at, amount, currency, dispute_status) "
        "VALUES ('dE1', 'pE1', ?, 10000, 'EUR', 'dispute_lost')",
        [ts("2026-01-25")],
    )
    balance: dict[str, int] = {}
    for entry_id, when, amount, currency, event, credit, ref, payout in LEDGER:
        before = balance.get(currency, 0)
        balance[currency] = before + (amount if credit else -amount)
        usd = amount if currency == "USD" else round(amount * EUR_IN_USD)
        con.execute(
            "INSERT INTO ledger_entries (id, created_at, amount, currency, event_type, is_credit, "
            "usd_equivalent_amount, before_balance, after_balance, reference_object_id, payout_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                entry_id,
                ts(when),
                amount,
                currency,
                event,
                credit,
                usd,
                before,
                balance[currency],
                ref,
                payout,
            ],
        )
    con.execute(
        "INSERT INTO payouts (payout_id, created_at, amount, currency, fee, status) VALUES "
        "('yU1', ?, 14189, 'USD', 71, 'success'), ('yU2', ?, 13970, 'USD', 70, 'success'), "
        "('yE1', ?, 17100, 'EUR', 86, 'in_progress')",
        [ts("2026-02-01 06:00"), ts("2026-03-01 06:00"), ts("2026-03-01 06:00")],
    )
    metrics.rebuild(con, "UTC", 30, 30, THROUGH)
    con.close()
    work_path(path).rename(path)
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
        metrics.rebuild(con, "UTC", 30, 30, THROUGH)
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
