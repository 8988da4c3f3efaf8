"""Servers that answer, but not as the API does: the sync stops with a message saying what is wrong
instead of running forever."""

import httpx

from harness import Harness
from helpers import make_api
from sandbox.server import AsyncSandboxTransport


class IgnoresPageNumber(AsyncSandboxTransport):
    """Every page_number gets page 0, as a server or proxy that drops the parameter would answer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = [(k, v) for k, v in request.url.params.multi_items() if k != "page_number"]
        url = request.url.copy_with(params=params)
        return await super().handle_async_request(httpx.Request("GET", url, headers=request.headers))


class PageNumberIgnored(Harness):
    def transport(self):
        return IgnoresPageNumber(self.api, sleep=self.fake_sleep)


def test_a_server_that_ignores_page_number_is_named_not_paged_forever(tmp_path, reliability):
    # Unguarded, the sync ended "ok" here having read page 0 of each window only (the window splits
    # end the loop), and a larger business paged on and on; `kill_after` keeps the test from hanging.
    h = PageNumberIgnored(make_api(600), tmp_path, kill_after=2_000)
    assert h.sync() == 1
    said = h.stderr.getvalue()
    assert "with the same records as page 0" in said and "ignores page_number" in said, said
    assert h.requests < 500  # the windows in flight finish their page, no more
    reliability(
        "A server that ignores page_number",
        "every page answered as page 0",
        1,
        f"the run ends after {h.requests} requests, naming the cause",
    )


class Slow(AsyncSandboxTransport):
    """Every answer takes 20 s of the harness's clock: each within the per-request deadline, the run
    as a whole far past a deadline of one minute."""

    def __init__(self, harness: Harness):
        super().__init__(harness.api, sleep=harness.fake_sleep)
        self.harness = harness

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.harness.clock.advance(20)
        return await super().handle_async_request(request)


class SlowServer(Harness):
    def transport(self):
        return Slow(self)


def test_a_run_stops_at_its_deadline_with_a_message_and_a_status_file(tmp_path, reliability):
    import json

    h = SlowServer(make_api(600), tmp_path)
    h.env["DODO_ANALYTICS_RUN_DEADLINE_MINUTES"] = "1"
    assert h.sync() == 1
    said = h.stderr.getvalue()
    assert "passed its deadline of 1 minutes (DODO_ANALYTICS_RUN_DEADLINE_MINUTES)" in said, said
    assert (first := h.requests) < 40  # 60 s of 20 s answers, and those already in flight
    status = json.loads((h.path.parent / "warehouse.duckdb.status.json").read_text())
    assert status["exit_code"] == 1 and "deadline" in status["problem"]
    h.env["DODO_ANALYTICS_RUN_DEADLINE_MINUTES"] = "10080"  # a week: the next run resumes and finishes
    assert h.sync() == 0, h.stderr.getvalue()
    reliability(
        "A run that never ends",
        "answers of 20 s each, with a run deadline of 1 minute",
        1,
        f"the run ends after {first} requests with the deadline named and a status file; the next one finishes",
    )
