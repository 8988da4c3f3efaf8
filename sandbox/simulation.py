"""A seeded, event-driven simulation of one merchant on Dodo Payments.

Customers arrive (more of them as the business grows), buy one-time products and subscribe; the
subscriptions renew, fail with real decline codes, are retried (`retry_attempt`), go `on_hold`,
recover or are cancelled, change plan and seat count; payments are refunded and disputed; the
balance ledger and monthly payouts follow. Everything happens as timed events on one queue, so
moving the clock forward simply runs more of the same queue: payments still `processing` settle,
renewals fall due, refunds complete, disputes move stage, and new customers arrive.

Same seed and same clock: the same records, byte for byte (one `random.Random`, events ordered by
time and then by the order they were scheduled).
"""

import gc
import hashlib
import heapq
import random
from itertools import accumulate

from . import records as R
from .aftersales import AfterSales
from .catalog import (
    CANCELLATION_FEEDBACK,
    CARD_NETWORKS,
    DELAYED_METHODS,
    DISCOUNT,
    DOWNGRADES,
    FIRST_NAMES,
    LAST_NAMES,
    MARKETS,
    NEW_SUBSCRIPTION_MIX,
    ONE_TIME_MIX,
    PER_USD,
    PLAN,
    PLANS,
    UPGRADES,
)
from .clock import MS_PER_DAY, add_interval, from_ms, to_ms
from .enums import HARD_DECLINES, SOFT_DECLINES

DAY = MS_PER_DAY
HOUR = DAY // 24
MINUTE = HOUR // 60
# Measured: payments per arriving customer over a two-year history (see README "Sandbox").
PAYMENTS_PER_CUSTOMER = {180: 2.4, 730: 5.0}
MONTHLY_CHURN = 0.035
RETRY_DELAYS_DAYS = (1, 3, 5)  # soft declines are retried automatically, then dunning takes over
HOLD_DAYS = 14  # an on_hold subscription nobody fixes is cancelled after this


def _picker(pairs):
    values = [v for v, _ in pairs]
    cum = list(accumulate(w for _, w in pairs))
    return lambda rng: rng.choices(values, cum_weights=cum)[0]


_pick_country = _picker([(k, v[2]) for k, v in MARKETS.items()])
_pick_network = _picker(CARD_NETWORKS)
_pick_plan = _picker([(PLAN[k], w) for k, w in NEW_SUBSCRIPTION_MIX])
_pick_one_time = _picker([(PLAN[k], w) for k, w in ONE_TIME_MIX])
_pick_method = {c: _picker([((m, t), w) for m, t, w in v[4]]) for c, v in MARKETS.items()}


def history_days(payments: int) -> int:
    return 180 if payments < 3000 else 730


class Simulation(AfterSales):
    def __init__(self, seed: int, payments: int, now_ms: int):
        self.rng, self.seed = random.Random(seed), seed
        self.start = now_ms - history_days(payments) * DAY
        self.now = self.start
        self.end_of_growth = now_ms  # arrivals grow linearly until the first "now", then stay flat
        days = history_days(payments)
        self.per_day = payments / (days * PAYMENTS_PER_CUSTOMER[days])
        self.archived_at = self.start + (now_ms - self.start) // 2
        self.queue: list = []
        self.seq = 0
        self.counters: dict[str, int] = {}
        self.salts: dict[str, str] = {}
        self.balance: dict[str, int] = {}
        self.unpaid: dict[str, list] = {}  # per currency, the ledger entries the next payout settles
        self.customers, self.products, self.subscriptions, self.payments = [], [], [], []
        self.refunds, self.disputes, self.ledger, self.payouts = [], [], [], []
        self.method_of: dict[str, tuple] = {}  # customer id -> (method, type, card network, last four)
        self._make_products()
        self.at(self.start, self.arrive)
        self.at(add_interval(self._month_start(self.start), "Month", 1) + 6 * HOUR, self.pay_out)
        gc.disable()  # millions of long-lived objects: the cyclic collector would only rescan them
        try:
            self.run_until(now_ms)
        finally:
            gc.enable()

    # -- engine ------------------------------------------------------------------------------------
    def at(self, when: int, fn, *args) -> None:
        # Never schedule into the past: the clock only moves forward.
        heapq.heappush(self.queue, (max(when, self.now), self.seq, fn, args))
        self.seq += 1

    def run_until(self, t: int) -> None:
        queue = self.queue
        while queue and queue[0][0] <= t:
            when, _, fn, args = heapq.heappop(queue)
            self.now = when
            fn(*args)
        self.now = t

    def new_id(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0)
        self.counters[prefix] = n + 1
        # A bijective scramble of the counter (an odd multiplier modulo 2^48): unique, random-looking,
        # and much cheaper than hashing each of the millions of ids.
        salt = self.salts.get(prefix) or self.salts.setdefault(
            prefix, hashlib.blake2b(f"{self.seed}:{prefix}".encode(), digest_size=4).hexdigest()
        )
        return f"{prefix}{salt}{(n * 0x9E3779B97F4B) & 0xFFFFFFFFFFFF:012x}"

    def later(self, lo_days: float, hi_days: float) -> int:
        return self.now + int(self.rng.uniform(lo_days, hi_days) * DAY)

    @staticmethod
    def _month_start(ms: int) -> int:
        return to_ms(from_ms(ms).replace(day=1, hour=0, minute=0, second=0, microsecond=0))

    # -- catalog and customers ---------------------------------------------------------------------
    def _make_products(self) -> None:
        for i, plan in enumerate(PLANS):
            p = R.Product()
            p.id, p.created, p.plan = R.PLAN_PRODUCT_IDS[plan.key], self.start - (60 - i) * DAY, plan
            p.archived, p.recurring = plan.archived, plan.kind != "one_time"
            self.products.append(p)
        self.product_of = {p.plan.key: p for p in self.products}

    def arrive(self) -> None:
        rng, c = self.rng, R.Customer()
        c.id, c.created = self.new_id("cus_"), self.now
        c.country = _pick_country(rng)
        c.currency, _, _, c.locale, _ = MARKETS[c.country]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        c.name = f"{first} {last}"
        c.email = f"{first}.{last}.{self.counters['cus_']}@example.com".lower()
        c.phone = f"+1555{rng.randrange(10**6, 10**7)}" if rng.random() < 0.2 else None
        self.customers.append(c)
        self.method_of[c.id] = (
            *_pick_method[c.country](rng),
            _pick_network(rng),
            f"{rng.randrange(10000):04d}",
        )
        if rng.random() < 0.62:
            self.subscribe(c)
            if rng.random() < 0.15:
                self.at(self.later(5, 120), self.buy, c)
        else:
            self.buy(c)
        growth = min(1.0, (self.now - self.start) / max(1, self.end_of_growth - self.start))
        per_ms = self.per_day * (0.4 + 1.2 * growth) / DAY
        self.at(self.now + 1 + int(rng.expovariate(per_ms)), self.arrive)

    # -- payments ----------------------------------------------------------------------------------
    def charge(
        self,
        customer,
        plan,
        subs,
        pre_tax,
        kind,
        attempt=0,
        fail_rate=0.06,
        periods=(),
        quantity=1,
        discounted=False,
        update_method=False,
    ):
        rng, p = self.rng, R.Payment()
        p.id, p.created, p.updated, p.customer = self.new_id("pay_"), self.now, self.now, customer
        p.subs, p.periods, p.plan, p.quantity = subs, periods, plan, quantity
        tax_rate = MARKETS[customer.country][1]
        p.tax = round(pre_tax * tax_rate)
        p.total, p.currency = pre_tax + p.tax, customer.currency
        p.charge_type, p.retry_attempt, p.update_method, p.discounted = (
            kind,
            attempt,
            update_method,
            discounted,
        )
        p.method, p.method_type, p.network, p.last4 = self.method_of[customer.id]
        p.three_ds = p.method == "card" and rng.random() < 0.3
        p.error_code, p.refunds, p.disputes = None, [], []
        p.status = "processing"
        self.payments.append(p)
        outcome = "failed" if rng.random() < fail_rate else "succeeded"
        if kind is None and not update_method and outcome == "succeeded" and rng.random() < 0.03:
            p.status = "requires_customer_action"  # abandoned at 3-D Secure; cancelled a day later
            self.at(self.now + DAY, self.settle, p, "cancelled")
        elif p.method in DELAYED_METHODS:
            self.at(self.later(1, 4), self.settle, p, outcome)
        else:
            self.settle(p, outcome)
        return p

    def settle(self, p, outcome: str) -> None:
        p.status, p.updated = outcome, self.now
        if outcome == "failed":
            p.error_code = self.rng.choice(HARD_DECLINES if self.rng.random() < 0.25 else SOFT_DECLINES)
        elif outcome == "succeeded" and p.total > 0:
            # Dodo books a payment's three entries together, 5 to 15 minutes after it
            self.at(self.now + self.rng.randint(5, 15) * MINUTE, self.book_payment, p)
            if self.rng.random() < 0.025:
                self.at(self.later(1, 30), self.refund, p)
            elif self.rng.random() < 0.006:
                self.at(self.later(5, 60), self.open_dispute, p)
        if p.charge_type in ("new", "renewal") and p.periods:  # zero-amount card set-ups pay for no period
            for sub in p.subs:
                (self.paid if outcome == "succeeded" else self.charge_failed)(sub, p)
        elif p.charge_type == "plan_change":
            sub = p.subs[0]
            if outcome == "succeeded":
                sub.plan, sub.quantity = sub.plan_changed
                sub.product = self.product_of[sub.plan.key]
            sub.plan_changed = None

    # -- one-time purchases ------------------------------------------------------------------------
    def buy(self, c) -> None:
        plan = _pick_one_time(self.rng)
        self.charge(c, plan, [], plan.price_in(c.currency), None, fail_rate=0.05)
        if self.rng.random() < 0.2:
            self.at(self.later(10, 200), self.buy, c)

    # -- subscriptions -----------------------------------------------------------------------------
    def subscribe(self, c) -> None:
        rng = self.rng
        plan = _pick_plan(rng)
        if plan.archived and self.now > self.archived_at:
            plan = PLAN["starter"]
        s = self._new_subscription(c, plan)
        if plan.kind == "on_demand":
            self.charge(c, plan, [s], 0, "new", fail_rate=0.0, update_method=False)
            s.next_billing = self.now
            self.at(self.later(2, 20), self.charge_on_demand, s)
        elif plan.trial:
            # The checkout of a trial takes a zero-amount payment that only stores the card.
            self.charge(c, plan, [s], 0, "new", fail_rate=0.0)
            s.next_billing = self.now + plan.trial * DAY
            if rng.random() < 0.3:
                self.at(self.later(0.5, plan.trial - 0.5), self.cancel_now, s)
            self.at(s.next_billing, self.renew, s)
        else:
            subs = [s]
            if not plan.seats and plan.key != "weekly_digest" and rng.random() < 0.04:
                subs.append(self._new_subscription(c, PLAN["weekly_digest"]))  # two plans in one checkout
            self.charge(
                c,
                plan,
                subs,
                sum(x.pre_tax_amount() for x in subs),
                "new",
                periods=self._periods(subs),
                discounted=s.discount_left is not None,
            )

    def _new_subscription(self, c, plan):
        rng, s = self.rng, R.Subscription()
        s.id, s.created, s.customer, s.plan = self.new_id("sub_"), self.now, c, plan
        s.product, s.currency, s.status = self.product_of[plan.key], c.currency, "active"
        s.quantity = rng.randint(2, 12) if plan.seats else 1
        s.next_billing = s.previous_billing = self.now
        s.cancel_at_next, s.cancelled_at, s.cancelled_by, s.feedback = False, None, None, None
        s.discount_left = DISCOUNT["cycles"] if plan.kind == "subscription" and rng.random() < 0.1 else None
        s.scheduled = s.expires_at = s.hold_since = s.plan_changed = None
        s.cycles_paid = 0
        self.subscriptions.append(s)
        return s

    def _periods(self, subs, start=None):
        start = self.now if start is None else start
        return tuple((s, start, add_interval(start, s.plan.interval, s.plan.count), "1") for s in subs)

    def _cycle_price(self, s) -> int:
        price = s.pre_tax_amount()
        if s.discount_left:
            price = price * (10000 - DISCOUNT["amount"]) // 10000
        return price

    def renew(self, s) -> None:
        if s.status != "active" or s.next_billing > self.now:
            return  # cancelled meanwhile, or a stale event from before a recovery moved the billing date
        if s.cancel_at_next:
            self._cancel(s, s.cancelled_by or "customer")
            return
        if s.plan.periods and s.cycles_paid >= s.plan.periods:
            s.status, s.expires_at = "expired", self.now
            return
        if s.scheduled is not None:
            (s.plan, s.quantity, _, _), s.scheduled = s.scheduled, None
            s.product = self.product_of[s.plan.key]
        self._charge_renewal(s, 0)

    def _charge_renewal(self, s, attempt: int) -> None:
        fail = (0.08, 0.45, 0.5, 0.55)[min(attempt, 3)]
        self.charge(
            s.customer,
            s.plan,
            [s],
            self._cycle_price(s),
            "renewal",
            attempt,
            fail_rate=fail,
            periods=self._periods([s]),
            quantity=s.quantity,
            discounted=bool(s.discount_left),
        )

    def paid(self, s, p) -> None:
        if s.status not in ("active", "on_hold"):
            return
        _, start, end, _ = next(x for x in p.periods if x[0] is s)
        s.status, s.hold_since, s.previous_billing, s.next_billing = "active", None, start, end
        s.cycles_paid += 1
        if s.discount_left:
            s.discount_left -= 1
        self.at(end, self.renew, s)
        rng, months = self.rng, {"Day": 12 / 365, "Week": 12 / 52, "Month": 1, "Year": 12}[s.plan.interval]
        if rng.random() < 1 - (1 - MONTHLY_CHURN) ** (months * s.plan.count):
            when = start + int(rng.random() * (end - start))
            self.at(when, self.cancel_now if rng.random() < 0.4 else self.schedule_cancel, s)
        elif rng.random() < 0.05 and (s.plan.key in UPGRADES or s.plan.key in DOWNGRADES or s.plan.seats):
            self.at(start + int(rng.uniform(0.2, 0.8) * (end - start)), self.change_plan, s)

    def charge_failed(self, s, p) -> None:
        if p.charge_type == "new":
            s.status = "failed"
            return
        if s.status not in ("active", "on_hold"):
            return
        s.status = "on_hold"
        s.hold_since = s.hold_since or self.now
        if p.error_code in SOFT_DECLINES and p.retry_attempt < len(RETRY_DELAYS_DAYS):
            self.at(self.now + RETRY_DELAYS_DAYS[p.retry_attempt] * DAY, self.retry, s, p.retry_attempt + 1)
        elif self.rng.random() < 0.35:
            self.at(self.later(0.5, HOLD_DAYS - 1), self.fix_card, s, p.retry_attempt + 1)
        else:
            self.at(s.hold_since + HOLD_DAYS * DAY, self.hold_expired, s)

    def retry(self, s, attempt: int) -> None:
        if s.status == "on_hold":
            self._charge_renewal(s, attempt)

    def fix_card(self, s, attempt: int) -> None:
        if s.status != "on_hold":
            return
        # A new card is saved with a zero-amount payment, then the overdue renewal is charged on it.
        self.charge(s.customer, s.plan, [s], 0, None, fail_rate=0.0, update_method=True)
        self._charge_renewal(s, attempt)

    def hold_expired(self, s) -> None:
        if s.status == "on_hold":
            self._cancel(s, None)

    def cancel_now(self, s) -> None:
        if s.status in ("active", "on_hold"):
            self._cancel(s, "customer" if self.rng.random() < 0.85 else "merchant_user")

    def schedule_cancel(self, s) -> None:
        if s.status == "active" and not s.cancel_at_next:
            s.cancel_at_next = True
            s.cancelled_by, s.feedback = "customer", self.rng.choice(CANCELLATION_FEEDBACK)

    def _cancel(self, s, actor) -> None:
        s.status, s.cancelled_at, s.cancelled_by = "cancelled", self.now, actor
        if actor == "customer" and s.feedback is None:
            s.feedback = self.rng.choice(CANCELLATION_FEEDBACK)

    def change_plan(self, s) -> None:
        if s.status != "active" or s.cancel_at_next or s.scheduled is not None or s.plan_changed is not None:
            return
        rng, plan, qty = self.rng, s.plan, s.quantity
        if plan.seats:
            up = qty == 1 or rng.random() < 0.7
            new_plan, new_qty = plan, qty + rng.randint(1, 3) if up else qty - 1
        elif plan.key in UPGRADES:
            up, new_plan, new_qty = True, PLAN[UPGRADES[plan.key]], qty
        else:
            up, new_plan, new_qty = False, PLAN[DOWNGRADES[plan.key]], qty
        if not up:  # downgrades wait for the next billing date
            s.scheduled = (new_plan, new_qty, self.now, s.next_billing)
            return
        start, end = self.now, s.next_billing
        share = (end - start) / (end - s.previous_billing)
        extra = round((new_plan.price_in(s.currency) * new_qty - s.pre_tax_amount()) * share)
        s.plan_changed = (new_plan, new_qty)
        self.charge(
            s.customer,
            new_plan,
            [s],
            extra,
            "plan_change",
            fail_rate=0.05,
            quantity=new_qty,
            periods=((s, start, end, f"{share:.4f}"),),
        )

    def charge_on_demand(self, s) -> None:
        if s.status != "active":
            return
        if self.rng.random() < 0.08:
            self._cancel(s, "customer")
            return
        amount = round(self.rng.uniform(5, 200) * PER_USD[s.currency] * 10 ** R.EXPONENT[s.currency])
        self.charge(s.customer, s.plan, [s], amount, "on_demand", fail_rate=0.07)
        s.previous_billing = s.next_billing = self.now
        self.at(self.later(5, 40), self.charge_on_demand, s)
