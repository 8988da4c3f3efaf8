"""Helpers the tests share (conftest.py holds only fixtures): an in-process sandbox reached through an
httpx transport (no sockets, no sleeps), and a small hand-built business whose every metric is worked
out by hand below.

The hand-built business, from which the metric tests work out every expected number
(UTC unless a test says otherwise; data_through 2026-04-01T00:00:00Z; grace 30 days):
  A  USD monthly 1000 (tax 0), paid Jan 15, Feb 15, Mar 15 (and a failed retry Mar 14 with no detail)
  B  USD annual 12000 + 2000 tax, paid Feb 10            -> 14000 / 12 months = 1000 a month
  C  USD two monthly subs, C1 500 and C2 300, both paid Jan 3 and Feb 3; C2 cancelled, C1 paid Mar 3
  D  USD monthly 1000 paid Jan 5; upgraded Jan 20 (prorated 500, proration 0.5, plan now 2000);
     renewals of 2000 on Feb 5 and Mar 5
  E  EUR monthly 900 paid Jan 10; the Feb 10 renewal failed (INSUFFICIENT_FUNDS); cancelled
  F  JPY monthly 3000 yen paid Mar 2
  G  USD weekly 520 paid Mar 5 then cancelled: starts and stops inside March
  H  USD monthly 1000 paid Jan 2, cancelled; a new subscription paid Mar 10 (reactivation)
  K  KWD monthly 2.763 KWD paid Jan 25, downgraded to 1.500 on Feb 25, not paid since (in grace)
  T  USD trial: only the zero-amount card set-up of Feb 20, so no MRR
  plus: a 200 refund of A's Feb 15 payment on Feb 20; D's Mar 5 payment lost a dispute of 2000 on Mar 25;
  a processing USD payment on Mar 20; a card update (zero amount) on Mar 21.

MRR (USD) at the boundaries:
  Feb 1: A 1000 + C 800 + D 2000 (the upgrade is the latest payment) + H 1000 = 4800
  Mar 1: A 1000 + B 1000 + C 800 (C2's last period runs to Mar 3) + D 2000 = 4800
  Apr 1: A 1000 + B 1000 + C 500 + D 2000 + H 1000 = 5500 (G's week ended Mar 12)
"""

import json
from datetime import UTC, datetime

import httpx

from core.published import work_path
from etl import metrics
from etl import warehouse as wh
from sandbox.api import SandboxAPI
from sandbox.clock import parse_iso
from sandbox.data import SimulatedData
from sandbox.ratelimit import RateLimiter
from sandbox.server import SandboxTransport

# -- the sandbox, in process -----------------------------------------------------------------------
SANDBOX_NOW = "2026-06-30T00:00:00Z"
RO_KEY, RW_KEY = "sk_test_sandbox_readonly", "sk_test_sandbox_readwrite"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_api(
    payments: int = 300, seed: int = 7, now: str = SANDBOX_NOW, per_second=10_000, per_minute=1_000_000, **kw
):
    """A sandbox over a simulated business; limits are high unless a test is about them."""
    limiter = RateLimiter(per_second, per_minute, clock=kw.pop("clock", FakeClock()))
    return SandboxAPI(SimulatedData(seed, payments, parse_iso(now)), limiter=limiter, **kw)


def client_for(api, key: str | None = RO_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(
        transport=SandboxTransport(api, sleep=lambda s: None), base_url="http://sandbox.test", headers=headers
    )


def read_all(client, path, **params):
    """Every item of a list endpoint, page by page from page 0 (as the sync pages)."""
    items, page = [], 0
    while True:
        r = client.get(path, params={**params, "page_size": 100, "page_number": page})
        assert r.status_code == 200, r.text
        batch = r.json()["items"]
        items += batch
        if len(batch) < 100:
            return items
        page += 1


# -- the hand-built business -----------------------------------------------------------------------
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_sub(con, sub_id, customer, currency, rpta, unit="Month", n=1, status="active"):
    con.execute(
        "INSERT INTO subscriptions (subscription_id, created_at, status, customer_id, product_id, currency, "
        "quantity, recurring_pre_tax_amount, payment_frequency_interval, payment_frequency_count, on_demand) "
        "VALUES (?, ?, ?, ?, 'pdt_x', ?, 1, ?, ?, ?, false)",
        [sub_id, ts("2026-01-01"), status, customer, currency, rpta, unit, n],
    )


def add_pay(
    con,
    pay_id,
    when,
    total,
    currency,
    customer,
    sub=None,
    status="succeeded",
    tax=0,
    charge="renewal",
    periods=None,
    error=None,
    detail=True,
    card_update=False,
):
    con.execute(
        "INSERT INTO payments (payment_id, created_at, status, total_amount, currency, customer_id, "
        "subscription_id, subscription_ids, charge_type, service_periods, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, '{}')",
        [
            pay_id,
            ts(when),
            status,
            total,
            currency,
            customer,
            sub,
            [sub] if sub else [],
            charge if sub else None,
            json.dumps(periods),
        ],
    )
    if detail:
        con.execute(
            "INSERT INTO payment_details (payment_id, detail_status, tax, error_code, is_update_payment_method, "
            "raw) VALUES (?, ?, ?, ?, ?, '{}')",
            [pay_id, status, tax, error, card_update],
        )


# subscription, customer, currency, recurring pre-tax amount (minor units), cycle, status
SUBSCRIPTIONS = """
    sA   A  USD   1000  Month  active
    sB   B  USD  12000  Year   active
    sC1  C  USD    500  Month  active
    sC2  C  USD    300  Month  cancelled
    sD   D  USD   2000  Month  active
    sE   E  EUR    900  Month  cancelled
    sF   F  JPY   3000  Month  active
    sG   G  USD    520  Week   cancelled
    sH1  H  USD   1000  Month  cancelled
    sH2  H  USD   1000  Month  active
    sK   K  KWD   1500  Month  active
    sT   T  USD   2900  Month  active
"""
# D's upgrade: a prorated charge for the rest of the period it falls in
D_UPGRADE = [
    {
        "subscription_id": "sD",
        "starts_at": "2026-01-20T00:00:00Z",
        "ends_at": "2026-02-05T00:00:00Z",
        "proration_factor": "0.5",
    }
]
E_FAILED = {"status": "failed", "error": "INSUFFICIENT_FUNDS", "tax": None}  # E's renewal, never recovered


def build(con) -> None:
    for line in SUBSCRIPTIONS.strip().splitlines():
        sub, customer, currency, rpta, unit, status = line.split()
        add_sub(con, sub, customer, currency, int(rpta), unit, status=status)
    for pid, when, total, cur, cust, sub, extra in [
        ("pA1", "2026-01-15", 1000, "USD", "A", "sA", {"charge": "new"}),
        ("pA2", "2026-02-15", 1000, "USD", "A", "sA", {}),
        ("pA3", "2026-03-15", 1000, "USD", "A", "sA", {}),
        ("pA0", "2026-03-14", 1000, "USD", "A", "sA", {"status": "failed", "detail": False}),
        ("pB1", "2026-02-10", 14000, "USD", "B", "sB", {"tax": 2000, "charge": "new"}),
        ("pC1a", "2026-01-03", 500, "USD", "C", "sC1", {"charge": "new"}),
        ("pC2a", "2026-01-03", 300, "USD", "C", "sC2", {"charge": "new"}),
        ("pC1b", "2026-02-03", 500, "USD", "C", "sC1", {}),
        ("pC2b", "2026-02-03", 300, "USD", "C", "sC2", {}),
        ("pC1c", "2026-03-03", 500, "USD", "C", "sC1", {}),
        ("pD1", "2026-01-05", 1000, "USD", "D", "sD", {"charge": "new"}),
        ("pD2", "2026-01-20", 500, "USD", "D", "sD", {"charge": "plan_change", "periods": D_UPGRADE}),
        ("pD3", "2026-02-05", 2000, "USD", "D", "sD", {}),
        ("pD4", "2026-03-05", 2000, "USD", "D", "sD", {}),
        ("pE1", "2026-01-10", 900, "EUR", "E", "sE", {"charge": "new"}),
        ("pE2", "2026-02-10", 900, "EUR", "E", "sE", E_FAILED),
        ("pF1", "2026-03-02", 3000, "JPY", "F", "sF", {"charge": "new"}),
        ("pG1", "2026-03-05", 520, "USD", "G", "sG", {"charge": "new"}),
        ("pH1", "2026-01-02", 1000, "USD", "H", "sH1", {"charge": "new"}),
        ("pH2", "2026-03-10", 1000, "USD", "H", "sH2", {"charge": "new"}),
        ("pK1", "2026-01-25", 2763, "KWD", "K", "sK", {"charge": "new"}),  # 2.763 KWD: three decimals
        ("pK2", "2026-02-25", 1500, "KWD", "K", "sK", {}),  # downgraded to 1.500 KWD
        ("pT0", "2026-02-20", 0, "USD", "T", "sT", {"charge": "new"}),  # a trial's zero-amount card set-up
        ("pP", "2026-03-20", 4900, "USD", "A", None, {"status": "processing", "detail": False}),
        ("pU", "2026-03-21", 0, "USD", "A", "sA", {"card_update": True, "charge": None}),
    ]:
        add_pay(con, pid, when, total, cur, cust, sub, **extra)
    con.execute(
        "INSERT INTO refunds (refund_id, payment_id, created_at, status, amount, currency) "
        "VALUES ('r1', 'pA2', ?, 'succeeded', 200, 'USD')",
        [ts("2026-02-20")],
    )
    con.execute(
        "INSERT INTO disputes (dispute_id, payment_id, created_at, amount, currency, dispute_status) "
        "VALUES ('d1', 'pD4', ?, 2000, 'USD', 'dispute_lost')",
        [ts("2026-03-25")],
    )


def publish_business(path, more=None) -> None:
    """The hand-built business as a published warehouse at `path`, metrics rebuilt at NOW and one
    successful run recorded, as a sync would leave it; `more(con)` adds to the business first."""
    con = wh.open_work(path)
    build(con)
    con.execute(
        "INSERT INTO sync_runs (run_id, started_at, finished_at, status, data_through) VALUES (1, ?, ?, 'ok', ?)",
        [NOW, NOW, NOW],
    )
    if more is not None:
        more(con)
    metrics.rebuild(con, "UTC", 30, 30, NOW)
    con.close()
    work_path(path).rename(path)  # publish, the simple way


# -- finance: a business small enough to work out by hand (tests/test_finance.py) ---------------------
FINANCE_THROUGH = datetime(2026, 3, 15, tzinfo=UTC)  # March is partial

# (id, when, amount, currency, event, credit, reference, payout set by Dodo)
# USD: pU1 110.00 (tax 10.00, fee 4.80) and pU2 55.00 (tax 5.00, fee 2.60) in January, paid out by yU1
# on Feb 1 (balance 142.60: 141.89 out, fee 0.71). rU1 refunds pU2 on Feb 5 (55.00 out, 5.00 tax
# back, fee 0.40); pU3 220.00 (tax 20.00, fee 9.20) on Feb 10; yU2 on Mar 1 takes 140.40 (139.70 out,
# fee 0.70). pU4 33.00 (tax 3.00, fee 1.72) on Mar 10 is not paid out yet.
# EUR: pE1 100.00 (no tax, fee 4.40) on Jan 15; dE1 disputes it on Jan 25 (100.00 out, fee 15.00) and
# is lost; no payout on Feb 1 (balance -19.40); pE2 200.00 (fee 8.40) on Feb 20; yE1 on Mar 1 takes
# 172.20 (171.34 out, fee 0.86), but the payout list says 171.00; an adjustment of 5.00 in on Mar 12.
FINANCE_LEDGER = [
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


def publish_finance(path) -> None:
    """The finance business as a published warehouse at `path`, metrics rebuilt at FINANCE_THROUGH."""
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
    for entry_id, when, amount, currency, event, credit, ref, payout in FINANCE_LEDGER:
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
    con.execute(
        "INSERT INTO sync_runs (run_id, started_at, finished_at, status, data_through) VALUES (1, ?, ?, 'ok', ?)",
        [FINANCE_THROUGH, FINANCE_THROUGH, FINANCE_THROUGH],
    )
    metrics.rebuild(con, "UTC", 30, 30, FINANCE_THROUGH)
    con.close()
    work_path(path).rename(path)
