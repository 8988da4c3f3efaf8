"""Shells around `SandboxAPI`: an ASGI app for uvicorn, and httpx transports for in-process use."""

import asyncio
import threading
import time

import httpx
import uvicorn

from .api import SandboxAPI


class ASGIApp:
    def __init__(self, api: SandboxAPI):
        self.api = api

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = self.api.handle(
            scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, body
        )
        if reply.hang:
            while (await receive())["type"] != "http.disconnect":
                pass  # answer nothing until the client gives up
            return
        if reply.delay:
            await asyncio.sleep(reply.delay)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        raw.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else reply.body})


def _call(api: SandboxAPI, request: httpx.Request):
    reply = api.handle(
        request.method,
        request.url.path,
        request.url.query.decode("latin-1"),
        dict(request.headers),
        request.content,
    )
    if reply.hang:
        raise httpx.ReadTimeout("the sandbox did not answer (hung-request fault)", request=request)
    return reply


class SandboxTransport(httpx.BaseTransport):
    """In-process transport for `httpx.Client`. Latency faults call the injected `sleep`."""

    def __init__(self, api: SandboxAPI, sleep=time.sleep):
        self.api, self.sleep = api, sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = _call(self.api, request)
        if reply.delay:
            self.sleep(reply.delay)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """In-process transport for `httpx.AsyncClient`."""

    def __init__(self, api: SandboxAPI, sleep=asyncio.sleep):
        self.api, self.sleep = api, sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        reply = _call(self.api, request)
        if reply.delay:
            await self.sleep(reply.delay)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


def serve_in_thread(
    api: SandboxAPI, port: int, host: str = "127.0.0.1", timeout: float = 10
) -> uvicorn.Server:
    """uvicorn serving `api` from a daemon thread, returned once it listens (the demo's sandbox, and the
    tests' real HTTP server); `server.should_exit = True` stops it. OSError when it could not start."""
    server = uvicorn.Server(
        uvicorn.Config(
            ASGIApp(api), host=host, port=port, log_level="warning", date_header=False, server_header=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise OSError(f"the sandbox could not start on {host}:{port}")
        time.sleep(0.02)
    return server
