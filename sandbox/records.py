"""The simulated business's records. Each keeps the few attributes the simulation changes and the
filters index (`id`, `created`, and one attribute per query filter), and renders its full API object
on demand, so a million payments stay small in memory and a page renders only what it returns."""

import hashlib

from .catalog import BRAND_ID, BUSINESS_ID, CITIES, DISCOUNT, EXPONENT, PER_USD, PLANS, SETTLEMENT_CURRENCY
from .clock import iso
from .enums import HARD_DECLINES


def usd_cents(amount: int, currency: str) -> int:
    return round(amount / 10 ** EXPONENT[currency] / PER_USD[currency] * 100)


class Customer:
    __slots__ = ("id", "created", "name", "email", "phone", "country", "currency", "locale")

    def limited(self) -> dict:
        return {
            "customer_id": self.id,
            "email": self.email,
            "name": self.name,
            "metadata": {},
            "phone_number": self.phone,
        }

    def billing(self) -> dict:
        city, state = CITIES[self.country]
        return {"country": self.country, "city": city, "state": state, "street": None, "zipcode": None}

    def full(self) -> dict:
        return {
            "business_id": BUSINESS_ID,
            "created_at": iso(self.created),
            "customer_id": self.id,
            "email": self.email,
            "name": self.name,
            "metadata": {},
            "phone_number": self.phone,
            "preferred_locale": self.locale,
            "blocked_at": None,
            "blocklist_entry_id": None,
        }


class Product:
    __slots__ = ("id", "created", "plan", "archived", "recurring")
    brand_id = BRAND_ID

    def full(self) -> dict:
        plan = self.plan
        if plan.kind == "one_time":
            price = {
                "type": "one_time_price",
                "currency": "USD",
                "price": plan.usd,
                "discount": 0,
                "purchasing_power_parity": False,
                "pay_what_you_want": False,
                "tax_inclusive": False,
                "discount_bps": None,
                "suggested_price": None,
            }
        else:
            price = {
                "type": "recurring_price",
                "currency": "USD",
                "price": plan.usd,
                "discount": 0,
                "payment_frequency_count": plan.count,
                "payment_frequency_interval": plan.interval,
                **plan.subscription_period(),
                "purchasing_power_parity": False,
                "tax_inclusive": False,
                "trial_period_days": plan.trial,
                "discount_bps": None,
                "trial_amount": None,
                "trial_apply_discounts": None,
                "trial_payment_method_optional": None,
                "zero_amount_payment_method_optional": None,
            }
        return {
            "product_id": self.id,
            "business_id": BUSINESS_ID,
            "brand_id": BRAND_ID,
            "created_at": iso(self.created),
            "updated_at": iso(self.created),
            "name": plan.name,
            "description": f"{plan.name} from the sandbox business",
            "image": None,
            "is_recurring": self.recurring,
            "tax_category": plan.category,
            "metadata": {},
            "entitlements": [],
            "credit_entitlements": [],
            "license_key_enabled": plan.license_key,
            "price": price,
            "pricing_mode": "by_currency",
            "addons": None,
            "digital_product_delivery": None,
            "license_key_activation_message": None,
            "license_key_activations_limit": 3 if plan.license_key else None,
            "license_key_duration": None,
            "product_collection_id": None,
        }


class Subscription:
    __slots__ = (
        "id",
        "created",
        "customer",
        "product",
        "plan",
        "quantity",
        "currency",
        "status",
        "next_billing",
        "previous_billing",
        "cancel_at_next",
        "cancelled_at",
        "cancelled_by",
        "feedback",
        "discount_left",
        "scheduled",
        "expires_at",
        "cycles_paid",
        "hold_since",
        "plan_changed",
    )
    brand_id = BRAND_ID

    # filter attributes
    @property
    def customer_id(self):
        return self.customer.id

    @property
    def product_id(self):
        return self.product.id

    @property
    def cancel_at_next_billing_date(self):
        return self.cancel_at_next

    def unit_price(self) -> int:
        return self.plan.price_in(self.currency)

    def pre_tax_amount(self) -> int:
        return self.unit_price() * self.quantity

    def full(self) -> dict:
        plan, discounted = self.plan, self.discount_left is not None
        discount = (
            [
                {
                    "discount_id": DISCOUNT["discount_id"],
                    "business_id": BUSINESS_ID,
                    "code": DISCOUNT["code"],
                    "created_at": iso(self.created),
                    "amount": DISCOUNT["amount"],
                    "type": "percentage",
                    "metadata": {},
                    "position": 0,
                    "preserve_on_plan_change": True,
                    "restricted_to": [],
                    "times_used": 1,
                    "cycles_remaining": self.discount_left,
                    "expires_at": None,
                    "name": "Launch offer",
                    "subscription_cycles": DISCOUNT["cycles"],
                    "usage_limit": None,
                }
            ]
            if discounted
            else []
        )
        scheduled = None
        if self.scheduled is not None:
            new_plan, quantity, at, effective = self.scheduled
            scheduled = {
                "id": f"spc_{self.id[4:]}",
                "addons": [],
                "created_at": iso(at),
                "effective_at": iso(effective),
                "product_id": PLAN_PRODUCT_IDS[new_plan.key],
                "quantity": quantity,
                "product_name": new_plan.name,
                "product_description": None,
            }
        by = None
        if self.cancelled_by is not None:
            by = {"actor_type": self.cancelled_by, "name": None, "email": None}
            if self.cancelled_by == "customer":
                by.update(name=self.customer.name, email=self.customer.email)
        return {
            "subscription_id": self.id,
            "created_at": iso(self.created),
            "brand_id": BRAND_ID,
            "customer": self.customer.limited(),
            "billing": self.customer.billing(),
            "product_id": self.product.id,
            "product_name": plan.name,
            "quantity": self.quantity,
            "currency": self.currency,
            "recurring_pre_tax_amount": self.pre_tax_amount(),
            "tax_inclusive": False,
            "status": self.status,
            "on_demand": plan.kind == "on_demand",
            "payment_frequency_count": plan.count,
            "payment_frequency_interval": plan.interval,
            **plan.subscription_period(),
            "trial_period_days": plan.trial,
            "trial_amount": 0 if plan.trial else None,
            "next_billing_date": iso(self.next_billing),
            "previous_billing_date": iso(self.previous_billing),
            "cancel_at_next_billing_date": self.cancel_at_next,
            "cancelled_at": iso(self.cancelled_at),
            "cancelled_by": by,
            "cancellation_feedback": self.feedback,
            "cancellation_comment": None,
            "paused_at": None,
            "expires_at": iso(self.expires_at),
            "metadata": {},
            "has_payment_method": True,
            "payment_method_id": f"pm_{self.customer.id[4:]}",
            "discounts": discount,
            "discount_id": DISCOUNT["discount_id"] if discounted else None,
            "discount_cycles_remaining": self.discount_left,
            "scheduled_change": scheduled,
            "addons": [],
            "meters": [],
            "credit_entitlement_cart": [],
            "meter_credit_entitlement_cart": [],
            "custom_field_responses": None,
            "customer_business_name": None,
            "tax_id": None,
        }


# Product ids are the same for every seed: the catalog does not depend on it.
PLAN_PRODUCT_IDS = {
    p.key: "pdt_" + hashlib.blake2b(p.key.encode(), digest_size=10).hexdigest() for p in PLANS
}


class Payment:
    __slots__ = (
        "id",
        "created",
        "updated",
        "customer",
        "subs",
        "periods",
        "plan",
        "quantity",
        "status",
        "total",
        "tax",
        "currency",
        "charge_type",
        "retry_attempt",
        "error_code",
        "method",
        "method_type",
        "network",
        "last4",
        "update_method",
        "refunds",
        "disputes",
        "discounted",
        "three_ds",
    )
    brand_id = BRAND_ID

    @property
    def customer_id(self):
        return self.customer.id

    @property
    def subscription_id(self):
        return self.subs[0].id if len(self.subs) == 1 else None

    @property
    def product_id(self):
        return PLAN_PRODUCT_IDS[self.plan.key]

    def refund_status(self):
        done = sum(r.amount for r in self.refunds if r.status == "succeeded")
        return None if done == 0 else ("full" if done >= self.total else "partial")

    def full(self) -> dict:
        c, cur, ok = self.customer, self.currency, self.status == "succeeded"
        card = self.method in ("card", "apple_pay", "google_pay")
        one_time = self.plan.kind == "one_time"
        error = None
        if self.error_code:
            kind = "hard" if self.error_code in HARD_DECLINES else "soft"
            error = f"The payment was declined ({self.error_code.lower().replace('_', ' ')}, {kind} decline)."
        return {
            "payment_id": self.id,
            "business_id": BUSINESS_ID,
            "brand_id": BRAND_ID,
            "created_at": iso(self.created),
            "updated_at": iso(self.updated),
            "status": self.status,
            "total_amount": self.total,
            "currency": cur,
            "tax": self.tax,
            "settlement_amount": usd_cents(self.total, cur),
            "settlement_currency": SETTLEMENT_CURRENCY,
            "settlement_tax": usd_cents(self.tax, cur) if self.tax is not None else None,
            "customer": c.limited(),
            "billing": c.billing(),
            "subscription_id": self.subscription_id,
            "subscription_ids": [s.id for s in self.subs],
            "is_multi_subscription": len(self.subs) > 1,
            "service_periods": [
                {"subscription_id": s.id, "starts_at": iso(a), "ends_at": iso(b), "proration_factor": f}
                for s, a, b, f in self.periods
            ]
            if ok
            else [],
            "charge_type": self.charge_type,
            "retry_attempt": self.retry_attempt,
            "includes_usage": False,
            "is_update_payment_method": self.update_method,
            "error_code": self.error_code,
            "error_message": error,
            "digital_products_delivered": ok and one_time,
            "has_license_key": ok and self.plan.license_key,
            "metadata": {},
            "payment_provider": "dodo",
            "payment_method": self.method,
            "payment_method_type": self.method_type,
            "payment_method_id": f"pm_{c.id[4:]}",
            "card_network": self.network if card else None,
            "card_last_four": self.last4 if card else None,
            "card_type": (self.method_type if self.method_type == "debit" else "credit") if card else None,
            "card_exp_month": "08" if card else None,
            "card_exp_year": "2029" if card else None,
            "card_holder_name": c.name if card else None,
            "card_issuing_country": c.country if card else None,
            "three_ds_flow": "frictionless" if self.three_ds else None,
            "three_ds_status": "authenticated" if self.three_ds else None,
            "three_ds_version": "2.2.0" if self.three_ds else None,
            "checkout_session_id": f"cks_{self.id[4:]}" if self.charge_type in (None, "new") else None,
            "invoice_id": f"inv_{self.id[4:]}" if ok else None,
            "invoice_url": None,
            "payment_link": None,
            "product_cart": [{"product_id": self.product_id, "quantity": self.quantity}],
            "discount_id": DISCOUNT["discount_id"] if self.discounted else None,
            "discounts": None,
            "custom_field_responses": None,
            "refund_status": self.refund_status(),
            "refunds": [r.full() for r in self.refunds],
            "disputes": [d.full() for d in self.disputes],
        }


class Refund:
    __slots__ = ("id", "created", "payment", "amount", "status", "reason", "updated")

    @property
    def customer_id(self):
        return self.payment.customer.id

    @property
    def subscription_id(self):
        return self.payment.subscription_id

    def full(self) -> dict:
        p = self.payment
        return {
            "refund_id": self.id,
            "business_id": BUSINESS_ID,
            "brand_id": BRAND_ID,
            "payment_id": p.id,
            "created_at": iso(self.created),
            "status": self.status,
            "amount": self.amount,
            "currency": p.currency,
            "is_partial": self.amount < p.total,
            "reason": self.reason,
            "customer": p.customer.limited(),
            "metadata": {},
            "network_reference": f"ARN{self.id[4:16].upper()}" if self.status == "succeeded" else None,
            "network_reference_type": "acquirer_reference_number" if self.status == "succeeded" else None,
            "network_reference_updated_at": iso(self.updated) if self.status == "succeeded" else None,
        }


class Dispute:
    __slots__ = ("id", "created", "payment", "amount", "stage", "status", "reason", "remarks")

    @property
    def customer_id(self):
        return self.payment.customer.id

    @property
    def dispute_stage(self):
        return self.stage

    @property
    def dispute_status(self):
        return self.status

    def full(self) -> dict:
        p = self.payment
        # The API sends the amount as a string holding the integer in minor units.
        return {
            "dispute_id": self.id,
            "business_id": BUSINESS_ID,
            "brand_id": BRAND_ID,
            "payment_id": p.id,
            "created_at": iso(self.created),
            "amount": str(self.amount),
            "currency": p.currency,
            "dispute_stage": self.stage,
            "dispute_status": self.status,
            "payment_provider": "dodo",
            "is_resolved_by_rdr": False,
            "reason": self.reason,
            "remarks": self.remarks,
            "customer": p.customer.limited(),
        }


class LedgerEntry:
    __slots__ = (
        "id",
        "created",
        "amount",
        "currency",
        "event_type",
        "is_credit",
        "before",
        "reference",
        "payout_id",
    )

    @property
    def reference_object_id(self):
        return self.reference

    def full(self) -> dict:
        after = self.before + (self.amount if self.is_credit else -self.amount)
        return {
            "id": self.id,
            "business_id": BUSINESS_ID,
            "created_at": iso(self.created),
            "amount": self.amount,
            "currency": self.currency,
            "event_type": self.event_type,
            "is_credit": self.is_credit,
            "usd_equivalent_amount": usd_cents(self.amount, self.currency),
            "before_balance": self.before,
            "after_balance": after,
            "description": self.event_type.replace("_", " ").capitalize(),
            "reference_object_id": self.reference,
            "payout_id": self.payout_id,
        }


class Payout:
    __slots__ = (
        "id",
        "created",
        "updated",
        "amount",
        "currency",
        "fee",
        "status",
        "refunds",
        "chargebacks",
        "tax",
    )

    def full(self) -> dict:
        return {
            "payout_id": self.id,
            "business_id": BUSINESS_ID,
            "created_at": iso(self.created),
            "updated_at": iso(self.updated),
            "amount": self.amount,
            "currency": self.currency,
            "fee": self.fee,
            "status": self.status,
            "payment_method": "bank_transfer",
            "name": f"Payout {self.currency}",
            "payout_document_url": None,
            "remarks": None,
            "refunds": self.refunds,
            "chargebacks": self.chargebacks,
            "tax": self.tax,
        }
