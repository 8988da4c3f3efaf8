import streamlit as st

from dashboard import data, ui

info = ui.header("Records")
if info is None:
    st.stop()
cur, start, end, prods = info["currency"], info["start"] or data.EPOCH_DAY, info["end"], info["products"]
st.caption("The records behind the numbers. Ids are Dodo's: search them in your Dodo dashboard.")
kind = st.segmented_control(
    "Show", ["Payments", "Subscriptions", "Customers"], default="Payments", key="records_kind"
)
search = st.text_input("Id, email or name contains", key="records_search").strip()
like = f"%{search}%"
if kind == "Payments":
    status = st.multiselect(
        "Status", ["succeeded", "failed", "processing", "cancelled"], key="records_status"
    )
    rows = data.query(
        "SELECT payment_id, created_at, status, total_amount, currency, customer_email, subscription_id, charge_type, "
        "error_code, payment_method FROM counted_payments WHERE currency = ? AND product_ok(product_id, ?::VARCHAR[]) "
        "AND local_day BETWEEN ? AND ? "
        "AND (len(?::VARCHAR[]) = 0 OR list_contains(?::VARCHAR[], status)) "
        "AND (payment_id ILIKE ? OR customer_email ILIKE ? OR customer_name ILIKE ?) ORDER BY created_at DESC LIMIT 5000",
        (cur, prods, start, end, status, status, like, like, like),
    )
    rows["amount"] = [ui.money(a, cur) for a in rows.pop("total_amount")]
elif kind == "Subscriptions":
    rows = data.query(
        "SELECT s.subscription_id, s.created_at, s.status, s.customer_email, s.product_name, s.recurring_pre_tax_amount, "
        "n.mrr, s.cancel_at_next_billing_date, s.next_billing_date FROM subscriptions s "
        "LEFT JOIN subscription_mrr_now n USING (subscription_id) WHERE s.currency = ? "
        "AND product_ok(s.product_id, ?::VARCHAR[]) "
        "AND (s.subscription_id ILIKE ? OR s.customer_email ILIKE ?) ORDER BY s.created_at DESC LIMIT 5000",
        (cur, prods, like, like),
    )
else:
    rows = data.query(
        "SELECT customer_id, created_at, name, email FROM customers WHERE customer_id ILIKE ? OR email ILIKE ? "
        "OR name ILIKE ? ORDER BY created_at DESC LIMIT 5000",
        (like, like, like),
    )
st.write(f"{len(rows):,} rows (at most 5,000 shown; the Exports page writes the whole set)")
st.dataframe(rows, hide_index=True)
