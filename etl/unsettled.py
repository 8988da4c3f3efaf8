"""Records that can still change, read again by id at every run while they are not final, whatever
their age: a list re-reads only the look-back window, and a refund created pending on May 1 that
succeeds in June would otherwise never be seen (docs/architecture.md §3.4).

Refunds and disputes are replaced whole from their detail (it holds every column of the list row).
A payment's detail goes to payment_details as any detail does, and its status moves the list row's."""

import asyncio

from core.errors import ApiError, ForbiddenError

from .client import DodoClient
from .resources import DETAILS, RESOURCES, Resource

# resource -> (the detail's path, which rows are not final yet)
NOT_FINAL = {
    "refunds": ("/refunds/{id}", "status = 'pending'"),
    "disputes": (
        "/disputes/{id}",
        "dispute_status NOT IN ('dispute_won', 'dispute_lost', 'dispute_accepted', 'dispute_expired', "
        "'dispute_cancelled')",
    ),
    "payments": ("/payments/{id}", "status = 'processing' OR status LIKE 'requires_%'"),
}
# a payment's list row takes the status its detail gives
PAYMENT_STATUS = """UPDATE payments p SET status = d.detail_status FROM payment_details d
    WHERE d.payment_id = p.payment_id AND d.detail_status IS NOT NULL
    AND list_contains(?::VARCHAR[], p.payment_id)"""


def target(name: str) -> Resource:
    """Where a re-read record is stored: a payment's detail is a detail."""
    return DETAILS if name == "payments" else RESOURCES[name]


def ids(con, name: str, read_before) -> list[str]:
    """The records of `name` not final yet, but for refunds and disputes this pass has read already
    (a row written at or after `read_before`, the pass's start, is what their detail would say). A
    payment's is read whatever: its detail, which the list row lacks, is what the re-read stores."""
    r = RESOURCES[name]
    sql = f"SELECT {r.key} FROM {r.table} WHERE ({NOT_FINAL[name][1]}) AND (? OR synced_at < ?)"
    return [i for (i,) in con.execute(sql, [name == "payments", read_before]).fetchall()]


async def fetch(
    client: DodoClient, name: str, record_ids: list[str]
) -> tuple[list[dict], list[tuple[str, str]]]:
    """The records the API gives again, and (id, why) for those it would not; a 403 raises (the
    resource is then skipped for the run, as a list refused would be)."""
    path, missing = NOT_FINAL[name][0], []

    async def one(record_id):
        try:
            return await client.get(path.format(id=record_id))
        except ForbiddenError:
            raise  # the caller says it once, for the whole resource
        except ApiError as exc:
            missing.append((record_id, str(exc)[:200]))
            return None

    got = [d for d in await asyncio.gather(*(one(i) for i in record_ids)) if d is not None]
    return got, missing
