"""What the sandbox serves: the simulated business, or a fixed data set read from JSON files.

Both expose the same thing to the API: one indexed `Collection` per resource, the current time,
`advance()` and `totals()`.
"""

import gc
import json
from collections import Counter
from pathlib import Path

from .clock import iso, parse_iso
from .simulation import Simulation
from .store import Collection

# resource -> (id field, equality filters, substring filters); the filters of docs/dodo-api.md §4.3.
RESOURCES = {
    "payments": (
        "payment_id",
        ("status", "customer_id", "subscription_id", "currency", "product_id", "brand_id"),
        (),
    ),
    "subscriptions": (
        "subscription_id",
        ("status", "customer_id", "product_id", "brand_id", "cancel_at_next_billing_date"),
        (),
    ),
    "refunds": ("refund_id", ("status", "customer_id", "subscription_id"), ()),
    "disputes": ("dispute_id", ("customer_id", "dispute_stage", "dispute_status"), ()),
    "customers": ("customer_id", ("email",), ("name",)),
    "products": ("product_id", ("archived", "recurring", "brand_id"), ()),
    "ledger": ("id", ("currency", "event_type", "reference_object_id"), ()),
    "payouts": ("payout_id", (), ()),
}
WITH_STATUS = ("payments", "subscriptions", "refunds", "disputes", "payouts")


class SimulatedData:
    def __init__(self, seed: int, payments: int, now_ms: int):
        self.sim = Simulation(seed, payments, now_ms)
        self.collections = {
            name: Collection(lambda a=name: getattr(self.sim, a), filters, contains)
            for name, (_, filters, contains) in RESOURCES.items()
        }
        # Millions of records live as long as the server: keep them out of the cyclic collector, whose
        # full passes over them would otherwise pause a request for seconds now and then.
        gc.freeze()

    @property
    def now(self) -> int:
        return self.sim.now

    def advance(self, ms: int) -> dict:
        before = {name: _statuses(c) for name, c in self.collections.items() if name in WITH_STATUS}
        sizes = {name: len(c) for name, c in self.collections.items()}
        self.sim.run_until(self.sim.now + ms)
        for c in self.collections.values():
            c.refresh()
        gc.freeze()
        changed = {}
        for name, old in before.items():
            new = _statuses(self.collections[name])
            changed[name] = sum(1 for k, v in old.items() if new[k] != v)
        created = {name: len(c) - sizes[name] for name, c in self.collections.items()}
        return {"now": iso(self.now), "created": created, "status_changed": changed}

    def totals(self) -> dict:
        return _totals(self)


def _statuses(collection) -> dict:
    return {r.id: r.status for r in collection.records}


def _totals(data) -> dict:
    out = {}
    for name, c in data.collections.items():
        entry = {"count": len(c)}
        if name in WITH_STATUS:
            entry["by_status"] = dict(sorted(Counter(r.status for r in c.records).items()))
        out[name] = entry
    return {"now": iso(data.now), "resources": out}


class FixtureError(Exception):
    """A fixture file that cannot be served; the message names the file and the problem."""


class FixtureRecord:
    """A record read from a fixture file: its detail object plus the attributes the filters index."""

    def __init__(self, resource: str, obj: dict):
        id_field, filters, contains = RESOURCES[resource]
        self.obj = obj
        self.id = obj[id_field]
        self.created = parse_iso(obj["created_at"])
        customer = obj.get("customer") or {}
        cart = obj.get("product_cart") or [{}]
        derived = {
            "customer_id": customer.get("customer_id", obj.get("customer_id")),
            "product_id": obj.get("product_id", cart[0].get("product_id")),
            "archived": bool(obj.get("archived", False)),
            "recurring": obj.get("is_recurring"),
            "status": obj.get("status", obj.get("dispute_status")),
        }
        self.status = derived["status"]
        for field in filters + contains:
            setattr(self, field, derived[field] if field in derived else obj.get(field))

    def full(self) -> dict:
        return self.obj


FIXTURE_FILES = {
    "payments": "payments.json",
    "subscriptions": "subscriptions.json",
    "refunds": "refunds.json",
    "disputes": "disputes.json",
    "customers": "customers.json",
    "products": "products.json",
    "ledger": "ledger.json",
    "payouts": "payouts.json",
}


class FixtureData:
    """A data set given as JSON files in the detail shape; a missing file is an empty resource."""

    def __init__(self, folder: Path, now_ms: int):
        folder = Path(folder)
        if not folder.is_dir():
            raise FixtureError(f"{folder}: not a folder; --data needs a folder holding payments.json etc.")
        self.now_ms = now_ms
        self.collections = {}
        for name, file in FIXTURE_FILES.items():
            records = _load(folder / file, name)
            _, filters, contains = RESOURCES[name]
            self.collections[name] = Collection(lambda r=records: r, filters, contains)

    @property
    def now(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> dict:
        self.now_ms += ms  # a fixed data set does not evolve; only the clock moves
        return {"now": iso(self.now), "created": {}, "status_changed": {}}

    def totals(self) -> dict:
        return _totals(self)


def _load(path: Path, resource: str) -> list:
    if not path.exists():
        return []
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FixtureError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(items, list):
        raise FixtureError(f"{path}: expected a JSON array of {resource} objects, got {type(items).__name__}")
    id_field = RESOURCES[resource][0]
    records, seen = [], set()
    for i, obj in enumerate(items):
        where = f"{path}: item {i}"
        if not isinstance(obj, dict):
            raise FixtureError(f"{where}: expected an object, got {type(obj).__name__}")
        for field in (id_field, "created_at"):
            if not isinstance(obj.get(field), str):
                raise FixtureError(f"{where}: missing or non-string {field!r}")
        if obj[id_field] in seen:
            raise FixtureError(f"{where}: duplicate {id_field} {obj[id_field]!r}")
        seen.add(obj[id_field])
        try:
            records.append(FixtureRecord(resource, obj))
        except ValueError as exc:
            raise FixtureError(f"{where}: bad created_at: {exc}") from None
    return records
