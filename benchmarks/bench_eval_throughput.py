"""Evaluator throughput against a slow OpenAI-compatible server: does concurrency pay?

A loopback HTTP server (raw asyncio, in its own process so it does not share the GIL
with the client) answers ``POST /v1/chat/completions`` after a fixed 100 ms, serving any
number of requests at once. The evaluator drives it through the real stack,
``load_llm("openai:x@http://127.0.0.1:PORT/v1", no_cache=True)`` (OpenAI SDK, retries,
metering), at concurrency 32 over 320 cases. The ideal is 32 / 0.1 s = 320 cases/s;
the target is >= 85 % of it. Each round times a cold run (a fresh ``Evaluator.evaluate``,
which creates the HTTP client and opens connections) and a warm run (same loop and
client after a warm-up pass); the best round of each kind is reported. A bare aiohttp
client (no autotune, no SDK) runs the same load each round, as the ceiling the machine
allows at that moment (other processes share its cores).

Usage: python benchmarks/bench_eval_throughput.py [--cases 320] [--concurrency 32]
Writes benchmarks/results/eval_throughput.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autotune.bench.case import Case
from autotune.evaluate import EvalResult, Evaluator
from autotune.llm import load_llm
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Prompt

RESULT_PATH = Path(__file__).parent / "results" / "eval_throughput.json"
DELAY_S = 0.1
TARGET_FRACTION = 0.85
PROMPT = Prompt(system="Classify the review as positive or negative.", user_template="{text}")


_BODY = json.dumps(
    {
        "id": "cmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "positive"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class _SlowChatServer(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: every request is answered after ``delay_s``.

    Raw asyncio instead of a web framework, so that the server's own CPU time (which
    shares this small machine with the client) stays far below the client's.
    """

    stats: ClassVar[dict[str, int]] = {"in_flight": 0, "max_in_flight": 0, "requests": 0}

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return  # wait for the rest of the body
            self.buffer = self.buffer[end + 4 + length :]
            self._answer_later(head.startswith("GET /stats"))

    def _answer_later(self, wants_stats: bool) -> None:
        stats = self.stats
        if wants_stats:
            body = json.dumps(stats).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            self._send(head + body)
            return
        stats["requests"] += 1
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        asyncio.get_running_loop().call_later(self.delay_s, self._send_answer)

    def _send_answer(self) -> None:
        self.stats["in_flight"] -= 1
        self._send(_RESPONSE)

    def _send(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(payload)


def serve(delay_s: float, report: Connection) -> None:
    """Run the slow server until killed; send its port through ``report``."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _SlowChatServer(delay_s), "127.0.0.1", 0, backlog=1024
        )
        report.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class ExactMetric(BaseMetric):
    name = "exact"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if output == case.expected else Score(0.0, "mismatch")


def server_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        stats: dict[str, Any] = json.loads(response.read())
        return stats


def measure(port: int, cases: list[Case], concurrency: int) -> dict[str, dict[str, float]]:
    """A cold run (a fresh ``evaluate``: new HTTP client and connections, as every
    evaluation in a search pays) and a warm run (the same loop and client after a
    warm-up pass: the steady state)."""
    llm = load_llm(f"openai:x@http://127.0.0.1:{port}/v1", no_cache=True)
    evaluator = Evaluator(llm, MetricSet([WeightedMetric(ExactMetric())]), concurrency=concurrency)

    def timed(result: EvalResult, seconds: float) -> dict[str, float]:
        if result.errors:
            raise SystemExit(f"{result.errors} cases failed: {result.failures[0].error}")
        return {"wall_s": seconds, "cases_per_s": len(cases) / seconds}

    start = time.perf_counter()
    cold = timed(evaluator.evaluate(PROMPT, cases), time.perf_counter() - start)

    async def warm_run() -> dict[str, float]:
        await evaluator.aevaluate(PROMPT, cases[:concurrency])
        start = time.perf_counter()
        result = await evaluator.aevaluate(PROMPT, cases)
        return timed(result, time.perf_counter() - start)

    warm = asyncio.run(warm_run())
    llm.close()
    return {"cold": cold, "warm": warm}


def measure_bare_client(port: int, count: int, concurrency: int) -> dict[str, float]:
    """The same load from a bare aiohttp client: the ceiling this machine allows now."""
    import aiohttp

    body = {"model": "x", "messages": [{"role": "user", "content": "synthetic review"}]}

    async def run() -> float:
        pending = iter(range(count))
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                for _ in pending:
                    url = f"http://127.0.0.1:{port}/v1/chat/completions"
                    async with session.post(url, json=body) as response:
                        json.loads(await response.read())

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - start

    seconds = asyncio.run(run())
    return {"wall_s": seconds, "cases_per_s": count / seconds}


def print_runs(runs: list[dict[str, dict[str, float]]], ideal: float) -> None:
    for number, run in enumerate(runs, start=1):
        for kind, numbers in run.items():
            rate = numbers["cases_per_s"]
            print(
                f"  round {number} {kind}: {numbers['wall_s']:.3f} s, {rate:.1f} cases/s "
                f"({rate / ideal:.1%} of ideal {ideal:.0f}/s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(DELAY_S, send), daemon=True)
    server.start()
    try:
        port = receive.recv()
        cases = [
            Case(f"c{i}", {"text": f"synthetic review number {i}"}, "positive")
            for i in range(args.cases)
        ]
        runs = [
            {
                **measure(port, cases, args.concurrency),
                "bare_client": measure_bare_client(port, args.cases, args.concurrency),
            }
            for _ in range(args.repeats)
        ]
        stats = server_stats(port)
    finally:
        server.kill()
        server.join()

    ideal = args.concurrency / DELAY_S
    best = {kind: max(run[kind]["cases_per_s"] for run in runs) / ideal for kind in runs[0]}
    print(f"{args.cases} cases, concurrency {args.concurrency}, delay {DELAY_S * 1000:.0f} ms")
    print_runs(runs, ideal)
    print(
        f"  best: warm {best['warm']:.1%}, cold {best['cold']:.1%} of ideal "
        f"(target >= {TARGET_FRACTION:.0%}); a bare aiohttp client, no autotune: "
        f"{best['bare_client']:.1%}; server saw at most {stats['max_in_flight']} at once"
    )
    report = {
        "benchmark": "eval_throughput",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "cases": args.cases,
        "concurrency": args.concurrency,
        "server_delay_s": DELAY_S,
        "ideal_cases_per_s": ideal,
        "runs": runs,
        "best_fraction_of_ideal": best,
        "server_max_in_flight": stats["max_in_flight"],
        "target_fraction": TARGET_FRACTION,
        "met": {kind: best[kind] >= TARGET_FRACTION for kind in ("cold", "warm")},
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
