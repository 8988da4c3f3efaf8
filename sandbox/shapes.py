"""The list and detail shapes of each resource, as the official SDK 1.123.0 models define them.

Every record is held once as a "full" dict (the union of its list and detail fields); the two shapes
are projections of it. A field the record lacks is emitted as null, as the reference advises
(docs/dodo-api.md §5.4), so "optional" always means "present and maybe null".
"""


def fields(names: str) -> tuple[str, ...]:
    """A shape's field names, in the SDK model's order, from whitespace-separated text."""
    return tuple(names.split())


PAYMENT_LIST = fields("""
    brand_id created_at currency customer digital_products_delivered has_license_key includes_usage
    is_multi_subscription metadata payment_id payment_provider retry_attempt service_periods
    subscription_ids total_amount card_exp_month card_exp_year card_last_four card_network card_type
    charge_type checkout_session_id dispute_status invoice_id invoice_url payment_method
    payment_method_type refund_status status subscription_id three_ds_flow three_ds_status
    three_ds_version
""")
PAYMENT_DETAIL = fields("""
    billing brand_id business_id created_at currency customer digital_products_delivered disputes
    includes_usage is_multi_subscription is_update_payment_method metadata payment_id payment_provider
    refunds retry_attempt service_periods settlement_amount settlement_currency subscription_ids
    total_amount card_exp_month card_exp_year card_holder_name card_issuing_country card_last_four
    card_network card_type charge_type checkout_session_id custom_field_responses discount_id discounts
    error_code error_message invoice_id invoice_url payment_link payment_method payment_method_id
    payment_method_type product_cart refund_status settlement_tax status subscription_id tax
    three_ds_flow three_ds_status three_ds_version updated_at
""")
SUBSCRIPTION_LIST = fields("""
    billing cancel_at_next_billing_date created_at currency customer discounts has_payment_method
    metadata next_billing_date on_demand payment_frequency_count payment_frequency_interval
    previous_billing_date product_id quantity recurring_pre_tax_amount status subscription_id
    subscription_period_count subscription_period_interval tax_inclusive trial_period_days cancelled_at
    cancelled_by customer_business_name discount_cycles_remaining discount_id paused_at
    payment_method_id product_name scheduled_change tax_id trial_amount
""")
SUBSCRIPTION_DETAIL = fields("""
    addons billing brand_id cancel_at_next_billing_date created_at credit_entitlement_cart currency
    customer has_payment_method metadata meter_credit_entitlement_cart meters next_billing_date
    on_demand payment_frequency_count payment_frequency_interval previous_billing_date product_id
    quantity recurring_pre_tax_amount status subscription_id subscription_period_count
    subscription_period_interval tax_inclusive trial_period_days cancellation_comment
    cancellation_feedback cancelled_at cancelled_by custom_field_responses customer_business_name
    discount_cycles_remaining discount_id discounts expires_at paused_at payment_method_id
    scheduled_change tax_id trial_amount
""")
REFUND_LIST = fields("""
    business_id created_at is_partial payment_id refund_id status amount currency network_reference
    network_reference_type network_reference_updated_at reason
""")
REFUND_DETAIL = ("brand_id", "customer", "metadata") + REFUND_LIST
DISPUTE_LIST = fields("""
    amount business_id created_at currency dispute_id dispute_stage dispute_status payment_id
    payment_provider is_resolved_by_rdr
""")
DISPUTE_DETAIL = DISPUTE_LIST + ("brand_id", "customer", "reason", "remarks")
# The dispute embedded in Payment.disputes[] has remarks but no payment_provider.
PAYMENT_DISPUTE = tuple(f for f in DISPUTE_LIST if f != "payment_provider") + ("remarks",)
CUSTOMER = fields("""
    business_id created_at customer_id email name blocked_at blocklist_entry_id metadata phone_number
    preferred_locale
""")
PRODUCT_LIST = fields("""
    business_id created_at entitlements is_recurring metadata product_id tax_category updated_at
    currency description image name price price_detail pricing_mode tax_inclusive
""")
PRODUCT_DETAIL = fields("""
    brand_id business_id created_at credit_entitlements entitlements is_recurring license_key_enabled
    metadata price product_id tax_category updated_at addons description digital_product_delivery image
    license_key_activation_message license_key_activations_limit license_key_duration name pricing_mode
    product_collection_id
""")
LEDGER = fields("""
    id amount business_id created_at currency event_type is_credit usd_equivalent_amount after_balance
    before_balance description payout_id reference_object_id
""")
PAYOUT = fields("""
    amount business_id chargebacks created_at currency fee payment_method payout_id refunds status tax
    updated_at name payout_document_url remarks
""")
CUSTOMER_LIMITED = ("customer_id", "email", "name", "metadata", "phone_number")


def project(full: dict, fields: tuple) -> dict:
    return {f: full.get(f) for f in fields}


def _payment_list(full: dict) -> dict:
    item = project(full, PAYMENT_LIST)
    disputes = full.get("disputes") or []
    if item["dispute_status"] is None and disputes:
        item["dispute_status"] = disputes[-1].get("dispute_status")
    if item["has_license_key"] is None:
        item["has_license_key"] = False
    return item


def _payment_detail(full: dict) -> dict:
    item = project(full, PAYMENT_DETAIL)
    item["disputes"] = [project(d, PAYMENT_DISPUTE) for d in full.get("disputes") or []]
    item["refunds"] = [project(r, REFUND_LIST) for r in full.get("refunds") or []]
    return item


def _subscription_list(full: dict) -> dict:
    item = project(full, SUBSCRIPTION_LIST)
    # The list carries {discount_id, discount_cycles_remaining}; the detail carries full DiscountDetail objects.
    item["discounts"] = [
        {"discount_id": d["discount_id"], "discount_cycles_remaining": d.get("cycles_remaining")}
        for d in full.get("discounts") or []
    ]
    return item


def _product_list(full: dict) -> dict:
    item = project(full, PRODUCT_LIST)
    price = full.get("price")
    if isinstance(price, dict):
        # The list flattens the price object: an integer `price` plus the object as `price_detail`.
        item["price"] = price.get("price", price.get("fixed_price"))
        item["price_detail"] = price
        item["currency"] = price.get("currency")
        item["tax_inclusive"] = price.get("tax_inclusive")
    return item


def _limit_customer(full: dict, fields: tuple) -> dict:
    item = project(full, fields)
    if isinstance(item.get("customer"), dict):
        item["customer"] = project(item["customer"], CUSTOMER_LIMITED)
    return item


LIST_SHAPE = {
    "payments": _payment_list,
    "subscriptions": _subscription_list,
    "refunds": lambda f: project(f, REFUND_LIST),
    "disputes": lambda f: project(f, DISPUTE_LIST),
    "customers": lambda f: project(f, CUSTOMER),
    "products": _product_list,
    "ledger": lambda f: project(f, LEDGER),
    "payouts": lambda f: project(f, PAYOUT),
}

DETAIL_SHAPE = {
    "payments": _payment_detail,
    "subscriptions": lambda f: _limit_customer(f, SUBSCRIPTION_DETAIL),
    "refunds": lambda f: _limit_customer(f, REFUND_DETAIL),
    "disputes": lambda f: _limit_customer(f, DISPUTE_DETAIL),
    "customers": lambda f: project(f, CUSTOMER),
    "products": lambda f: project(f, PRODUCT_DETAIL),
}
