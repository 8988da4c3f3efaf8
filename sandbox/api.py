"""The sandbox's request handling, free of any server: (method, path, query, headers, body) in, a
`Reply` out. The ASGI app and the httpx transports are thin shells around `SandboxAPI.handle`."""

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .clock import MS_PER_DAY, http_date, iso
from .faults import Faults
from .params import BadParam, parse_params
from .ratelimit import RateLimiter
from .shapes import DETAIL_SHAPE, LIST_SHAPE

LIST_PATHS = {
    "payments": "payments",
    "subscriptions": "subscriptions",
    "refunds": "refunds",
    "disputes": "disputes",
    "customers": "customers",
    "products": "products",
    "balances/ledger": "ledger",
    "payouts": "payouts",
}
# How deep /payments may page. Dodo caps it without publishing the value (docs/dodo-api.md §3); 500
# pages of 100 keeps a client honest: long histories must be read as created_at windows.
PAYMENTS_PAGE_CAP = 500
DEMO_KEYS = {"sk_test_sandbox_readonly": "ro", "sk_test_sandbox_readwrite": "rw"}


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer


def _json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, _json({"code": code, "message": message}))


class SandboxAPI:
    def __init__(
        self,
        data,
        keys: dict[str, str] | None = None,
        limiter: RateLimiter | None = None,
        faults: Faults | None = None,
        ro_denied: tuple[str, ...] = (),
        clock=time.time,
    ):
        self.data = data
        self.keys = dict(keys or DEMO_KEYS)  # key -> "ro" | "rw"
        self.limiter = limiter or RateLimiter(clock=clock)
        self.faults = faults or Faults()
        # paths a read-only key gets 403 on, e.g. "balances/ledger" (which reads a key may make is unverified)
        self.ro_denied = frozenset(p.strip("/") for p in ro_denied)
        self.stats: Counter = Counter()

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        path = "/" + path.strip("/")
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            if method != "GET" and "origin" in headers:
                # a web page's request (browsers always say where it came from): a page on any site
                # could otherwise move the clock or turn faults on; curl and the tests send no Origin
                reply = _error(
                    403, "FORBIDDEN", "the sandbox's control endpoints take no requests from web pages"
                )
            else:
                reply = self.control(method, path[len("/_sandbox/") :], query, body)
        else:
            reply = self.api(method, path, query, headers)
            self.stats["requests"] += 1
            self.stats[f"method:{method}"] += 1
            self.stats[f"status:{reply.status}"] += 1
            # what the benchmarks count apart: list pages, or one record by id
            self.stats["by_id" if path.count("/") > 1 and not path.startswith("/balances/") else "lists"] += 1
        if not any(name == "content-type" for name, _ in reply.headers):
            reply.headers.append(("content-type", "application/json"))
        reply.headers.append(("date", http_date(self.data.now - round(self.faults.date_shift() * 1000))))
        return reply

    # -- the API -----------------------------------------------------------------------------------
    def api(self, method: str, path: str, query: str, headers: dict[str, str]) -> Reply:
        auth = headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        mode = self.keys.get(key)
        if mode is None:
            what = "no API key was sent" if not key else "the API key is not valid"
            return _error(401, "UNAUTHORIZED", f"You are not authorised to perform this action: {what}.")
        verdict = self.limiter.hit()
        rate_headers = [
            ("x-ratelimit-limit", str(verdict.limit)),
            ("x-ratelimit-remaining", str(verdict.remaining)),
            ("x-ratelimit-reset", str(verdict.reset)),
        ]
        fault = self.faults.before()
        if not verdict.allowed or fault == "429":
            reply = _error(
                429, "TOO_MANY_REQUESTS", "Too many requests; retry after the time in Retry-After."
            )
            reply.headers = rate_headers + [("retry-after", str(verdict.retry_after))]
            return reply
        reply = self.route(method, path, query, mode, fault)
        reply.headers = rate_headers + reply.headers
        reply.delay = self.faults.latency()
        return reply

    def route(self, method: str, path: str, query: str, mode: str, fault: str | None) -> Reply:
        if fault == "hang":
            return Reply(200, b"", hang=True)
        if fault == "502":  # gateways answer in HTML, not in the API's JSON
            return Reply(
                502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", [("content-type", "text/html")]
            )
        if fault in ("500", "503"):
            code = "INTERNAL_SERVER_ERROR" if fault == "500" else "SERVICE_UNAVAILABLE"
            return _error(int(fault), code, "Something went wrong :(")
        if method not in ("GET", "HEAD"):
            if mode == "ro":
                return _error(
                    401,
                    "UNAUTHORIZED",
                    "You are not authorised to perform this action: this API key is read-only.",
                )
            return _error(405, "UNSUPPORTED_ACTION", "The sandbox serves the read side of the API only.")
        parts = path.strip("/")
        resource, record_id = LIST_PATHS.get(parts), None
        if resource is None and parts.count("/") == 1:
            head, record_id = parts.split("/")
            resource = head if head in DETAIL_SHAPE else None
        if resource is None or record_id == "":
            return _error(404, "NOT_FOUND", f"No such endpoint: {path}")
        if mode == "ro" and (parts in self.ro_denied or parts.split("/")[0] in self.ro_denied):
            return _error(403, "UNAUTHORIZED", f"This API key doesn't have permission to read {path}.")
        if record_id is not None:
            record = self.data.collections[resource].get(record_id)
            if record is None:
                return _error(404, "NOT_FOUND", f"No {resource[:-1]} with id {record_id!r}")
            return self._ok(DETAIL_SHAPE[resource](record.full()))
        try:
            params = parse_params(resource, parse_qsl(query, keep_blank_values=True))
        except BadParam as exc:
            return _error(422, "INVALID_QUERY_PARAMS", str(exc))
        page = params.pop("page_number", 0)
        if resource == "payments" and page > PAYMENTS_PAGE_CAP:
            return _error(
                422,
                "INVALID_QUERY_PARAMS",
                f"page_number is capped at {PAYMENTS_PAGE_CAP} on /payments; "
                "narrow the created_at_gte/created_at_lte window instead",
            )
        limit = params.pop("limit", 10)
        size = params.pop("page_size", limit)
        gte, lte = params.pop("created_at_gte", None), params.pop("created_at_lte", None)
        if resource == "products":
            params.setdefault("archived", False)  # archived products are listed only on request
        contains = [("name", params.pop("name"))] if "name" in params else []
        records = self.data.collections[resource].query(
            gte, lte, sorted(params.items()), contains, offset=page * size, limit=size
        )
        shape = LIST_SHAPE[resource]
        return self._ok({"items": [shape(r.full()) for r in records]})

    def _ok(self, obj) -> Reply:
        body = _json(obj)
        if self.faults.truncate():
            body = body[: len(body) // 2]
        return Reply(200, body)

    # -- control endpoints (sandbox only, never under an API path) ---------------------------------
    def control(self, method: str, what: str, query: str, body: bytes) -> Reply:
        args = dict(parse_qsl(query))
        if what == "clock" and method == "GET":
            return Reply(200, _json({"now": iso(self.data.now)}))
        if what == "advance" and method == "POST":
            try:
                ms = round(
                    float(args.get("days", 0)) * MS_PER_DAY
                    + float(args.get("hours", 0)) * 3_600_000
                    + float(args.get("seconds", 0)) * 1000
                )
            except (ValueError, OverflowError):
                return _error(422, "INVALID_QUERY_PARAMS", "advance takes numeric days, hours or seconds")
            if not 0 <= ms <= 3650 * MS_PER_DAY:
                return _error(
                    422, "INVALID_QUERY_PARAMS", "the sandbox clock moves forward, by ten years at most"
                )
            return Reply(200, _json(self.data.advance(ms)))
        if what == "totals" and method == "GET":
            return Reply(200, _json(self.data.totals()))
        if what == "stats" and method == "GET":
            return Reply(200, _json(dict(sorted(self.stats.items()))))
        if what == "faults":
            if method == "POST":
                try:
                    self.faults.config.update(json.loads(body or b"{}"))
                except (ValueError, AttributeError) as exc:
                    return _error(422, "INVALID_REQUEST_BODY", str(exc))
            return Reply(200, _json(self.faults.config.as_dict()))
        return _error(404, "NOT_FOUND", f"No sandbox control endpoint {method} /_sandbox/{what}")
