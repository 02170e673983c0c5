"""Fixtures of the LLM-layer tests: loopback servers they control."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from llm_http_doubles import CountingProxy, FaultServer

from autotune.llm.server import LocalServer


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def counting_proxy(local_server: LocalServer) -> Iterator[CountingProxy]:
    proxy = CountingProxy(local_server.base_url)
    thread = threading.Thread(target=proxy.httpd.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.httpd.shutdown()
    proxy.httpd.server_close()
