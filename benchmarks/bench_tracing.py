"""What tracing costs: recording calls during an evaluation, and writing traces.

1. Harness overhead per case of the evaluator with a zero-latency model, bare and
   wrapped in ``TracedLLM`` (every call recorded with its scopes), in interleaved
   rounds so load from other processes cancels out.
2. ``log_calls``: writing recorded calls as MLflow traces into a SQLite store (one
   trace per case), per trace, for direct answers and for Reflexion (3 calls, 3 step
   spans per trace).

Usage: python benchmarks/bench_tracing.py [--cases 2000] [--traces 20]
Writes benchmarks/results/tracing.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autotune.bench.case import Case
from autotune.evaluate import Evaluator
from autotune.llm import BaseLLM
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Prompt
from autotune.tracking import MlflowTracker
from autotune.tracking.traces import CallLog, TracedLLM

RESULT_PATH = Path(__file__).parent / "results" / "tracing.json"
PROMPT = Prompt(system="Classify the review as positive or negative.", user_template="{text}")


class InstantLLM(BaseLLM):
    """Answers "positive" at once: zero model latency, so only the harness is timed."""

    backend = "instant"
    model_id = "instant"

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        return Completion("positive", "stop", 12, 1, 0.0, self.model_id)

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        return Completion("positive", "stop", 12, 1, 0.0, self.model_id)


class ExactMetric(BaseMetric):
    name = "exact"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if output == case.expected else Score(0.0, "mismatch")


METRICS = MetricSet([WeightedMetric(ExactMetric())])


def make_cases(count: int) -> list[Case]:
    return [Case(f"c{i}", {"text": f"review {i}"}, "positive") for i in range(count)]


def per_case_us(cases: list[Case], rounds: int) -> dict[str, float]:
    """Best-of-rounds microseconds per case, bare and traced, interleaved."""
    best = {"bare": float("inf"), "traced": float("inf")}
    for _ in range(rounds):
        for name in best:
            llm: BaseLLM = InstantLLM()
            if name == "traced":
                llm = TracedLLM(llm, CallLog())
            evaluator = Evaluator(llm, METRICS, concurrency=8)
            start = time.perf_counter()
            evaluator.evaluate(PROMPT, cases)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / len(cases) * 1e6 for name, seconds in best.items()}


def write_ms_per_trace(strategy: str, traces: int) -> float:
    """Milliseconds per trace written by ``log_calls`` into a fresh SQLite store."""
    calls = CallLog()
    evaluator = Evaluator(TracedLLM(InstantLLM(), calls), METRICS)
    prompt = PROMPT.with_(answer_strategy=strategy)
    result = evaluator.evaluate(prompt, make_cases(traces))
    with tempfile.TemporaryDirectory() as folder:
        tracker = MlflowTracker("sqlite:///" + (Path(folder) / "mlflow.db").as_posix(), "bench")
        with tracker.start_run("warm-up") as run:  # store creation and imports, untimed
            run.log_calls(calls.drain()[:3], result, limit=1)
        evaluator.evaluate(prompt, make_cases(traces))
        with tracker.start_run("timed") as run:
            start = time.perf_counter()
            written = run.log_calls(calls.drain(), result, limit=traces)
            elapsed = time.perf_counter() - start
    return elapsed / written * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--traces", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    overhead = per_case_us(make_cases(args.cases), args.rounds)
    writes = {s: write_ms_per_trace(s, args.traces) for s in ("direct", "reflexion")}
    added = overhead["traced"] - overhead["bare"]
    print(f"evaluator overhead per case ({args.cases} cases, best of {args.rounds} rounds)")
    print(f"  bare {overhead['bare']:.1f} us, traced {overhead['traced']:.1f} us (+{added:.1f} us)")
    for strategy, ms in writes.items():
        print(f"  writing a {strategy} trace: {ms:.0f} ms")
    report = {
        "benchmark": "tracing",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "cases": args.cases,
        "overhead_us_per_case": overhead,
        "recording_adds_us_per_case": added,
        "traces_written": args.traces,
        "write_ms_per_trace": writes,
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
