"""Payment details: the payment list lacks the decline code, tax and settlement, which one
`GET /payments/{id}` per payment gives. Which payments need one, and fetching a batch of them."""

import asyncio

from core.errors import ApiError, ForbiddenError

from .client import DodoClient

BATCH = 100  # details fetched together, then committed together
SKIPPED = "payment details"  # their name where the summary lists what was skipped


# A payment that may only have updated a card: it carries a subscription but charges none of its periods
# (no charge_type), and the list does not say is_update_payment_method. It counts as revenue only
# provisionally until its detail says (docs/metrics.md §1.1).
MAY_UPDATE_CARD = (
    "p.status = 'succeeded' AND p.total_amount <> 0 AND p.charge_type IS NULL "
    "AND (p.subscription_id IS NOT NULL OR coalesce(len(p.subscription_ids), 0) > 0)"
)


def stale(con, budget: int, since=None, failed: bool = True) -> list[str]:
    """The details that decide whether a payment counts at all (MAY_UPDATE_CARD), then every failed
    payment's (decline code and message) unless not `failed`, newest first, then others newest first
    up to `budget`; only payments created at or after `since` when given (a first sync's stage). A
    detail is stale too when the payment's status has moved since it was fetched. Runs on the writer
    thread."""
    where = (
        "FROM payments p LEFT JOIN payment_details d USING (payment_id) "
        "WHERE (d.payment_id IS NULL OR d.detail_status IS DISTINCT FROM p.status) "
        "AND p.created_at >= coalesce($since, '-infinity'::TIMESTAMPTZ)"
    )
    wanted = f"({MAY_UPDATE_CARD} OR p.status = 'failed')" if failed else MAY_UPDATE_CARD
    first = con.execute(
        f"SELECT payment_id {where} AND {wanted} ORDER BY ({MAY_UPDATE_CARD}) DESC, p.created_at DESC",
        {"since": since},
    ).fetchall()
    others = con.execute(
        f"SELECT payment_id {where} AND NOT ({MAY_UPDATE_CARD}) AND p.status IS DISTINCT FROM 'failed' "
        "ORDER BY p.created_at DESC LIMIT $budget",
        {"since": since, "budget": budget},
    ).fetchall()
    return [i for (i,) in first + others]


async def fetch(
    client: DodoClient, ids: list[str], skipped: dict[str, str]
) -> tuple[list[dict], list[tuple[str, str]]]:
    """The details of `ids` the API gives, and (id, why) for those it would not (404, or still failing
    after the retries). A 403 marks them skipped in `skipped` at once, which the other batches check."""
    missing = []

    async def one(payment_id):
        try:
            return await client.get(f"/payments/{payment_id}")
        except ForbiddenError:
            skipped[SKIPPED] = "the key may not read /payments/{id} (403)"
        except ApiError as exc:
            missing.append((payment_id, str(exc)[:200]))
        return None

    got = [d for d in await asyncio.gather(*(one(i) for i in ids)) if d is not None]
    return got, missing
