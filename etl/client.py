"""The Dodo API client: GET only, rate-limited, retrying, with errors a merchant can act on.

It has no method that could send anything but a GET: the sync is read-only by construction.
"""

import asyncio
import json
import random
import time
from collections import Counter
from email.utils import parsedate_to_datetime

import httpx
import orjson

from core.errors import ApiError, AuthError, ForbiddenError, NotFound, redact
from core.settings import Settings

from .limiter import Limiter

RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_RETRIES = 6
MAX_PAUSE = 300.0  # seconds: the longest Retry-After the client will wait out
# A page of 100 records is some 100 KB; an answer past this is not a page, and reading it whole would
# take the memory of the machine (a 99 MB answer once took 1.4 GB).
MAX_BODY = 16 * 2**20


def backoff(retries_done: int, rng: random.Random) -> float:
    """The SDKs' schedule: min(0.5 s x 2^n, 8 s) with jitter in [0.75, 1]."""
    return min(0.5 * 2**retries_done, 8.0) * rng.uniform(0.75, 1.0)


def retry_hint(headers) -> float | None:
    """Seconds the server asks us to wait: retry-after-ms, then Retry-After (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    if (value := headers.get("retry-after")) is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    return None


class DodoClient:
    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        clock=time.monotonic,
        sleep=asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=5.0),
            limits=httpx.Limits(
                max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
            ),
            headers={
                "Authorization": f"Bearer {settings.key()}",
                "Accept": "application/json",
                "User-Agent": "dodo-analytics",
            },
        )
        self.environment = settings.environment
        self._key = settings.key()
        self.deadline = 4 * settings.timeout  # seconds one answer may take, all of it
        self.run_deadline_minutes = settings.run_deadline_minutes
        self.stop_at = clock() + 60 * settings.run_deadline_minutes  # no request starts after it
        self.limiter = Limiter(settings.per_second, settings.per_minute)
        self.slots = asyncio.Semaphore(settings.concurrency)
        self.clock, self.sleep, self.rng = clock, sleep, rng or random.Random()
        self.stats: Counter = Counter()  # requests, rate_limited, retries, status:<code>
        self.server_date: str | None = None  # the Date header of the first answer

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def _wait_turn(self) -> None:
        while (wait := self.limiter.delay(self.clock())) > 0:
            await self.sleep(wait)
        if self.clock() > self.stop_at:
            raise ApiError(
                f"the run passed its deadline of {self.run_deadline_minutes} minutes "
                "(DODO_ANALYTICS_RUN_DEADLINE_MINUTES) and stopped; what it read is kept and the next run "
                "resumes from there"
            )
        self.limiter.sent(self.clock())

    async def get(self, path: str, params: dict | None = None):
        """GET path and return the decoded JSON, retrying what is worth retrying."""
        async with self.slots:
            for attempt in range(MAX_RETRIES + 1):
                await self._wait_turn()
                self.stats["requests"] += 1
                try:
                    response = await self._fetch(path, params)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    if "CERTIFICATE_VERIFY_FAILED" in str(exc):  # no retry mends a certificate
                        raise ApiError(
                            f"the TLS certificate of {self._http.base_url} could not be verified ({exc}); "
                            "check DODO_PAYMENTS_BASE_URL, or the proxy between this machine and Dodo"
                        ) from None
                    problem = f"{type(exc).__name__}: {exc or 'no answer'}, from {self._http.base_url}"
                    hint = None
                else:
                    self.stats[f"status:{response.status_code}"] += 1
                    if self.server_date is None and "date" in response.headers:
                        self.server_date = response.headers["date"]
                    now = self.clock()
                    self.limiter.observe(
                        now,
                        response.headers.get("x-ratelimit-remaining"),
                        response.headers.get("x-ratelimit-reset"),
                    )
                    status = response.status_code
                    if status == 200:
                        try:
                            return self._decode(response.content)
                        except json.JSONDecodeError:
                            problem, hint = "a broken JSON body", None
                    elif status in RETRY_STATUSES:
                        hint = retry_hint(response.headers)
                        if status == 429:
                            self.stats["rate_limited"] += 1
                            # honour the server's pause, but not an absurd one (an hour, infinity)
                            self.limiter.block(
                                now, min(hint, MAX_PAUSE) if hint is not None else backoff(attempt, self.rng)
                            )
                        problem = f"HTTP {status}"
                    else:
                        raise self._error(path, response)
                if attempt == MAX_RETRIES:
                    break
                self.stats["retries"] += 1
                await self.sleep(hint if hint is not None and hint <= 60 else backoff(attempt, self.rng))
            raise ApiError(
                f"GET {path} failed after {MAX_RETRIES + 1} attempts (last: {problem}); "
                "the API may be down or overloaded: try again later"
            )

    async def _fetch(self, path: str, params: dict | None) -> httpx.Response:
        """The answer, read up to MAX_BODY (a larger one ends the run with an error, not the machine)
        and within `deadline` seconds (a slower one is a timeout, retried as one)."""
        started = self.clock()
        async with self._http.stream("GET", path, params=params) as streamed:
            chunks, size = [], 0
            async for chunk in streamed.aiter_bytes():
                # httpx's timeout is per read: a server dripping a byte at a time never trips it
                if self.clock() - started > self.deadline:
                    raise httpx.ReadTimeout(
                        f"the answer took over {self.deadline:.0f} s", request=streamed.request
                    )
                size += len(chunk)
                if size > MAX_BODY:
                    raise ApiError(
                        f"GET {path}: the answer from {self._http.base_url} passed {MAX_BODY // 2**20} MB, "
                        "where a page is some 100 KB; check DODO_PAYMENTS_BASE_URL (a proxy or another "
                        "service may be answering)"
                    )
                chunks.append(chunk)
        # the body as read (decompressed), with the headers that still describe it
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=b"".join(chunks), request=streamed.request
        )

    def _decode(self, body: bytes):
        """JSON; bytes that are not UTF-8 (a bad byte in some customer's name) become U+FFFD and are
        counted, rather than making the page unreadable on every retry and every run."""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # not UTF-8, broken, or what orjson refuses (integers beyond 64 bits): the standard library decides
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("utf-8", "replace")
            self.stats["invalid_utf8"] += 1
        return json.loads(text)

    def _error(self, path: str, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
            detail = f"{body.get('code')}: {body.get('message')}"
        except (ValueError, AttributeError):
            detail = response.text[:200]
        detail = redact(detail, self._key)  # the body may echo the key it was sent
        if response.status_code == 401:
            return AuthError(
                f"The API refused the key (401 {detail}). Check DODO_PAYMENTS_API_KEY; test and live "
                f"keys differ, and this key was sent to {self.environment} "
                "(DODO_PAYMENTS_ENVIRONMENT)."
            )
        if response.status_code == 403:
            return ForbiddenError(path)
        if response.status_code == 404:
            return NotFound(f"GET {path}: not found (404 {detail})")
        return ApiError(f"GET {path} was refused ({response.status_code} {detail})")
