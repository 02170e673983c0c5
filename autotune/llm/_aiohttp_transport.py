"""An httpx transport that sends requests with aiohttp, for the async OpenAI client.

The ``openai`` SDK talks through httpx, whose connection pool (httpcore) rescans every
connection on every request start and finish, with a socket poll per idle connection.
At 32 requests in flight that costs milliseconds of CPU per request and caps a
concurrent evaluation far below what the server could serve. Plugging aiohttp in under
httpx keeps everything the SDK does (retries, backoff, status errors, headers) and
replaces only the socket work.

The SDK's own ``openai.DefaultAioHttpClient`` (extra ``openai[aiohttp]``, package
``httpx-aiohttp``) is the same idea, kept by others; it was measured against this file
and is slower here: ``benchmarks/bench_transport.py``, 9 interleaved rounds at
concurrency 32 against a 100 ms loopback server, best 61.6 % vs 68.7 % of ideal and
median 53.9 % vs 59.4 % in the longer run (load ~15; ``benchmarks/results/transport.json``).
The throughput target (>= 85 % of ideal) is only just met with this transport on an
idle machine, so the slower client would miss it; this file stays until that changes.

Errors are mapped to httpx's, so the SDK still tells timeouts from failed connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx

# Headers aiohttp computes itself from the body it sends.
_SKIPPED_HEADERS = frozenset({"content-length", "transfer-encoding"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one ``aiohttp.ClientSession`` per event loop.

    The session is opened on the first request, inside the loop that runs it, and
    closed with :meth:`aclose` or, at the latest, when ``asyncio.run`` shuts that
    loop down.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._closer: AsyncIterator[None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = await self._open_session()
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _SKIPPED_HEADERS
        ]
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                str(request.url),
                data=body or None,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,  # httpx follows redirects itself
                auto_decompress=True,
            ) as response:
                content = await response.read()
                raw_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                ]
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _as_httpx_error(exc, request) from exc
        # The body is already decoded; drop headers that would make httpx decode again.
        raw_headers = [(k, v) for k, v in raw_headers if k.lower() != "content-encoding"]
        return httpx.Response(
            response.status, headers=raw_headers, content=content, request=request
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # limit=0: no cap of our own; the caller's concurrency is the limit.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            self._closer = self._close_with_loop()
            await self._closer.__anext__()
        return self._session

    async def _close_with_loop(self) -> AsyncIterator[None]:
        # asyncio.run() finalizes open async generators before it closes the loop
        # (loop.shutdown_asyncgens), so the session never outlives its loop unclosed.
        try:
            yield
        finally:
            await self.aclose()


def _as_httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


def async_http_client() -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``openai.AsyncOpenAI(http_client=...)``."""
    return httpx.AsyncClient(transport=AiohttpTransport(), follow_redirects=True)
