"""What happens to payments after they succeed: the balance ledger, refunds, disputes moving
through their stages, and monthly payouts. A mixin of `Simulation`, kept apart to keep each module
short; it uses the simulation's clock, random generator and event queue."""

from . import records as R
from .clock import MS_PER_DAY, add_interval
from .records import EXPONENT, PER_USD

HOUR = MS_PER_DAY // 24


def fee(amount: int, currency: str) -> int:
    """Dodo's fee in minor units: 4% of the amount and 40 US cents' worth."""
    return round(amount * 0.04) + round(40 * PER_USD[currency] * 10 ** (EXPONENT[currency] - 2))


class AfterSales:
    def post(self, currency, amount, event_type, credit, reference) -> R.LedgerEntry:
        e = R.LedgerEntry()
        e.id, e.created, e.amount, e.currency = self.new_id("ble_"), self.now, amount, currency
        e.event_type, e.is_credit, e.reference, e.payout_id = event_type, credit, reference, None
        e.before = self.balance.get(currency, 0)
        self.balance[currency] = e.before + (amount if credit else -amount)
        self.ledger.append(e)
        self.unpaid.setdefault(currency, []).append(e)
        return e

    def book_payment(self, p) -> None:
        """A succeeded payment's entries: the amount with its tax in, the tax and the fee out."""
        self.post(p.currency, p.total, "payment", True, p.id)
        if p.tax:
            self.post(p.currency, p.tax, "tax", False, p.id)
        self.post(p.currency, fee(p.total, p.currency), "payment_fees", False, p.id)

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
        if r.status == "succeeded":  # the amount out, its share of the tax back in, and a fee out
            p = r.payment
            self.post(p.currency, r.amount, "refund", False, r.id)
            if p.tax:
                self.post(p.currency, round(p.tax * r.amount / p.total), "tax_reversal", True, r.id)
            self.post(p.currency, fee(0, p.currency), "refund_fees", False, r.id)

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
        """Each currency's whole balance goes out, less a 0.5% fee; every entry it settles, its own
        two included, then carries the payout's id."""
        for currency in sorted(self.balance):
            balance = self.balance[currency]
            if balance <= 0:
                continue
            p = R.Payout()
            p.id, p.created, p.updated, p.currency = self.new_id("pyt_"), self.now, self.now, currency
            p.fee = balance // 200
            p.amount, p.status = balance - p.fee, "in_progress"
            p.refunds = p.chargebacks = p.tax = 0
            self.payouts.append(p)
            self.post(currency, p.amount, "payout", False, p.id)
            self.post(currency, p.fee, "payout_fees", False, p.id)
            for e in self.unpaid.pop(currency):
                e.payout_id = p.id
        self.at(add_interval(self._month_start(self.now), "Month", 1) + 6 * HOUR, self.pay_out)

    def payout_done(self, p) -> None:
        p.status, p.updated = "success", self.now
