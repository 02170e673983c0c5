"""Which async HTTP transport under the OpenAI SDK: ours, the SDK's aiohttp client, httpx?

The same slow loopback server as ``bench_eval_throughput.py`` (100 ms per answer, its own
process) is driven through the full stack (``load_llm`` -> evaluator) at concurrency 32
over 320 cases, once per transport per round, the transports interleaved so the load of
other processes falls on all of them alike. Transports:

* ``autotune``: ``autotune.llm._aiohttp_transport`` (aiohttp under httpx, one small file);
* ``sdk_aiohttp``: ``openai.DefaultAioHttpClient`` (the ``openai[aiohttp]`` extra,
  ``httpx-aiohttp``), the library-kept alternative;
* ``httpx``: the SDK's default httpx pool.

Usage: python benchmarks/bench_transport.py [--rounds 5]
Writes benchmarks/results/transport.json and prints a table (with the machine's load).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench_eval_throughput import DELAY_S, PROMPT, ExactMetric, serve

import autotune.llm.openai_compat as openai_compat
from autotune.bench.case import Case
from autotune.evaluate import Evaluator
from autotune.llm import load_llm
from autotune.metrics.base import MetricSet, WeightedMetric

RESULT_PATH = Path(__file__).parent / "results" / "transport.json"


def _sdk_aiohttp() -> httpx.AsyncClient:
    import openai

    return openai.DefaultAioHttpClient()


TRANSPORTS: dict[str, Callable[[], httpx.AsyncClient]] = {
    "autotune": openai_compat.async_http_client,
    "sdk_aiohttp": _sdk_aiohttp,  # needs `pip install httpx-aiohttp` (openai[aiohttp])
    "httpx": lambda: httpx.AsyncClient(limits=httpx.Limits(max_connections=1000)),
}
if importlib.util.find_spec("httpx_aiohttp") is None:
    del TRANSPORTS["sdk_aiohttp"]


def cold_run(port: int, cases: list[Case], concurrency: int, transport: str) -> float:
    """Cases per second of one fresh evaluation (new client and connections)."""
    openai_compat.async_http_client = TRANSPORTS[transport]  # type: ignore[assignment]
    llm = load_llm(f"openai:x@http://127.0.0.1:{port}/v1", no_cache=True)
    evaluator = Evaluator(llm, MetricSet([WeightedMetric(ExactMetric())]), concurrency=concurrency)
    start = time.perf_counter()
    result = evaluator.evaluate(PROMPT, cases)
    seconds = time.perf_counter() - start
    llm.close()
    if result.errors:
        raise SystemExit(f"{transport}: {result.errors} errors: {result.failures[0].error}")
    return len(cases) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(DELAY_S, send), daemon=True)
    server.start()
    load_before = os.getloadavg()
    try:
        port = receive.recv()
        cases = [Case(f"c{i}", {"text": f"review {i}"}, "positive") for i in range(args.cases)]
        rates: dict[str, list[float]] = {name: [] for name in TRANSPORTS}
        for _ in range(args.rounds):
            for name in TRANSPORTS:
                rates[name].append(cold_run(port, cases, args.concurrency, name))
    finally:
        server.kill()
        server.join()
    ideal = args.concurrency / DELAY_S
    load_after = os.getloadavg()
    print(f"{args.cases} cases, concurrency {args.concurrency}, ideal {ideal:.0f}/s")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    summary = {}
    for name, values in rates.items():
        best, median = max(values) / ideal, statistics.median(values) / ideal
        summary[name] = {"best": best, "median": median, "cases_per_s": values}
        print(f"  {name:12s} best {best:6.1%}  median {median:6.1%} of ideal")
    report = {
        "benchmark": "transport",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": {"before": load_before, "after": load_after},
        "cases": args.cases,
        "concurrency": args.concurrency,
        "ideal_cases_per_s": ideal,
        "transports": summary,
    }
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
