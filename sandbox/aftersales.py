"""What happens to payments after they succeed: the balance ledger, refunds, disputes moving
through their stages, and monthly payouts. A mixin of `Simulation`, kept apart to keep each module
short; it uses the simulation's clock, random generator and event queue."""

from . import records as R
from .clock import MS_PER_DAY, add_interval

HOUR = MS_PER_DAY // 24


class AfterSales:
    def post(self, currency, amount, event_type, credit, reference, payout_id=None) -> None:
        e = R.LedgerEntry()
        e.id, e.created, e.amount, e.currency = self.new_id("led_"), self.now, amount, currency
        e.event_type, e.is_credit, e.reference, e.payout_id = event_type, credit, reference, payout_id
        e.before = self.balance.get(currency, 0)
        self.balance[currency] = e.before + (amount if credit else -amount)
        self.ledger.append(e)

    def refund(self, p) -> None:
        rng, r = self.rng, R.Refund()
        r.id, r.created, r.updated, r.payment, r.status = (
            self.new_id("ref_"),
            self.now,
            self.now,
            p,
            "pending",
        )
        r.amount = p.total if rng.random() < 0.7 else max(1, int(p.total * rng.uniform(0.2, 0.8)))
        r.reason = rng.choice(("Requested by customer", "Duplicate purchase", "Not as described", None))
        p.refunds.append(r)
        self.refunds.append(r)
        self.at(self.later(1, 5), self.refund_done, r)

    def refund_done(self, r) -> None:
        r.status, r.updated = ("succeeded" if self.rng.random() < 0.95 else "failed"), self.now
        r.payment.updated = self.now
        if r.status == "succeeded":
            self.post(r.payment.currency, r.amount, "refund", False, r.id)

    def open_dispute(self, p) -> None:
        rng, d = self.rng, R.Dispute()
        d.id, d.created, d.payment, d.amount = self.new_id("dsp_"), self.now, p, p.total
        d.stage = "pre_dispute" if rng.random() < 0.3 else "dispute"
        d.status = "dispute_opened"
        d.reason = rng.choice(("fraudulent", "product_not_received", "subscription_canceled", "duplicate"))
        d.remarks = None
        p.disputes.append(d)
        p.updated = self.now
        self.disputes.append(d)
        self.post(p.currency, d.amount, "dispute", False, d.id)
        self.at(self.later(3, 15), self.dispute_step, d)

    def dispute_step(self, d) -> None:
        rng, r = self.rng, self.rng.random()
        d.payment.updated = self.now
        if d.status == "dispute_opened" and d.stage == "pre_dispute":
            if r < 0.4:
                d.status = "dispute_cancelled"
                self.post(d.payment.currency, d.amount, "dispute_reversal", True, d.id)
                return
            d.stage = "dispute"
        elif d.status == "dispute_opened":
            d.status = (
                "dispute_challenged" if r < 0.6 else ("dispute_accepted" if r < 0.85 else "dispute_expired")
            )
            if d.status == "dispute_expired":
                self.post(d.payment.currency, d.amount, "dispute_reversal", True, d.id)
            if d.status != "dispute_challenged":
                return
        elif d.status == "dispute_challenged":
            won = r < 0.45
            if not won and d.stage == "dispute" and rng.random() < 0.15:
                d.stage, d.remarks = "pre_arbitration", "Escalated to pre-arbitration"
            else:
                d.status = "dispute_won" if won else "dispute_lost"
                if won:
                    self.post(d.payment.currency, d.amount, "dispute_reversal", True, d.id)
                return
        self.at(self.later(5, 30), self.dispute_step, d)

    def pay_out(self) -> None:
        for currency in sorted(self.balance):
            amount = self.balance[currency]
            if amount <= 0:
                continue
            p = R.Payout()
            p.id, p.created, p.updated, p.currency = self.new_id("pyt_"), self.now, self.now, currency
            p.amount, p.fee, p.status = amount, amount // 200, "in_progress"
            p.refunds = p.chargebacks = p.tax = 0
            self.payouts.append(p)
            self.post(currency, amount, "payout", False, p.id, payout_id=p.id)
            self.at(self.later(1, 3), self.payout_done, p)
        self.at(add_interval(self._month_start(self.now), "Month", 1) + 6 * HOUR, self.pay_out)

    def payout_done(self, p) -> None:
        p.status, p.updated = "success", self.now
