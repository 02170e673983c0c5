"""Harness overhead of autotune's evaluator versus ``dspy.Evaluate``.

Both harnesses score the same synthetic cases with the same trivial exact-match metric
and a model that answers instantly, so the time per case is the harness's own cost:

* autotune: ``Evaluator`` (concurrency 8) with a zero-latency async backend; also the
  same backend inside ``MeteredLLM`` (as ``load_llm`` builds it) and ``ScriptedLLM``
  (a sync backend, run in worker threads).
* DSPy: ``dspy.Evaluate`` (8 threads) running ``dspy.Predict`` on ``dspy.utils.DummyLM``,
  DSPy's own zero-latency LM (scripted answers, no network, no cache).

Then case-evaluations per second with tracking on: evaluate N cases and log the result
(params, metrics, prompt, per-case table) into an MLflow SQLite store in a temporary
folder, both inside the timed region. Creating the store (schema migrations) and
importing MLflow happen once per process and are reported apart.

Targets: >= 10x less overhead per case than dspy.Evaluate; >= 5,000 case-evaluations/s
with tracking on.

Usage: python benchmarks/bench_eval_overhead.py [--cases 2000] [--tracked-cases 10000]
Writes benchmarks/results/eval_overhead.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autotune.bench.case import Case
from autotune.evaluate import Evaluator
from autotune.llm import BaseLLM, MeteredLLM, ScriptedLLM
from autotune.llm.types import Completion, Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score, WeightedMetric
from autotune.prompt import Prompt
from autotune.tracking import MlflowTracker

RESULT_PATH = Path(__file__).parent / "results" / "eval_overhead.json"
CONCURRENCY = 8
PROMPT = Prompt(system="Classify the review as positive or negative.", user_template="{text}")
TARGET_RATIO = 10.0
TARGET_TRACKED_RATE = 5000.0


class InstantLLM(BaseLLM):
    """Answers "positive" at once, natively async: zero model latency."""

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


def make_cases(count: int) -> list[Case]:
    return [
        Case(f"c{i}", {"text": f"synthetic review number {i}"}, "positive" if i % 2 else "negative")
        for i in range(count)
    ]


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def autotune_seconds(llm: BaseLLM, cases: list[Case], repeats: int) -> float:
    evaluator = Evaluator(llm, MetricSet([WeightedMetric(ExactMetric())]), concurrency=CONCURRENCY)
    return best_seconds(lambda: evaluator.evaluate(PROMPT, cases), repeats)


def dspy_seconds(cases: list[Case], repeats: int) -> float:
    import dspy
    from dspy.utils import DummyLM

    logging.getLogger("dspy").setLevel(logging.WARNING)
    devset = [
        dspy.Example(text=case.inputs["text"], answer=case.expected).with_inputs("text")
        for case in cases
    ]
    program = dspy.Predict("text -> answer")

    def metric(example: Any, prediction: Any, trace: Any = None) -> bool:
        return bool(prediction.answer == example.answer)

    evaluate = dspy.Evaluate(
        devset=devset, metric=metric, num_threads=CONCURRENCY, display_progress=False
    )

    def run() -> None:
        # A list of answers is consumed one per call: build a fresh LM per run.
        lm = DummyLM([{"answer": "positive"}] * len(cases))
        with dspy.context(lm=lm):
            evaluate(program)

    run()  # warm up imports and adapters outside the timing
    return best_seconds(run, repeats)


def tracked_rate(count: int) -> dict[str, float]:
    """Case-evaluations/s with ``log_eval`` into a fresh MLflow SQLite store."""
    cases = make_cases(count)
    llm = InstantLLM()
    evaluator = Evaluator(llm, MetricSet([WeightedMetric(ExactMetric())]), concurrency=CONCURRENCY)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        tracker = MlflowTracker("sqlite:///" + (Path(folder) / "mlflow.db").as_posix(), "bench")
        tracker.log_eval(evaluator.evaluate(PROMPT, cases[:10]), PROMPT, run_name="warm-up")
        setup_s = time.perf_counter() - start

        start = time.perf_counter()
        result = evaluator.evaluate(PROMPT, cases)
        evaluated = time.perf_counter()
        tracker.log_eval(result, PROMPT, params={"model": llm.name}, run_name="timed")
        end = time.perf_counter()
    return {
        "cases": count,
        "eval_s": evaluated - start,
        "log_eval_s": end - evaluated,
        "total_s": end - start,
        "case_evaluations_per_s": count / (end - start),
        "store_setup_once_s": setup_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--tracked-cases", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cases = make_cases(args.cases)
    per_case_us = {
        "autotune, async zero-latency backend": autotune_seconds(InstantLLM(), cases, args.repeats),
        "autotune, MeteredLLM (load_llm stack)": autotune_seconds(
            MeteredLLM(InstantLLM()), cases, args.repeats
        ),
        "autotune, ScriptedLLM (sync, threads)": autotune_seconds(
            ScriptedLLM(["positive"]), cases, args.repeats
        ),
        "dspy.Evaluate, DummyLM": dspy_seconds(cases, args.repeats),
    }
    per_case_us = {name: seconds / len(cases) * 1e6 for name, seconds in per_case_us.items()}
    ours = per_case_us["autotune, async zero-latency backend"]
    ratio = per_case_us["dspy.Evaluate, DummyLM"] / ours
    tracked = tracked_rate(args.tracked_cases)

    print(f"harness overhead per case ({args.cases} cases, concurrency {CONCURRENCY})")
    for name, value in per_case_us.items():
        print(f"  {name:<42} {value:10.1f} us")
    print(f"  dspy.Evaluate / autotune: {ratio:.1f}x (target >= {TARGET_RATIO:g}x)")
    print(
        f"with tracking: {tracked['case_evaluations_per_s']:,.0f} case-evaluations/s over "
        f"{tracked['cases']} cases (eval {tracked['eval_s']:.2f} s + log_eval "
        f"{tracked['log_eval_s']:.2f} s; target >= {TARGET_TRACKED_RATE:,.0f}/s); "
        f"store setup once {tracked['store_setup_once_s']:.2f} s"
    )
    report = {
        "benchmark": "eval_overhead",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "cases": args.cases,
        "concurrency": CONCURRENCY,
        "overhead_us_per_case": per_case_us,
        "dspy_over_autotune": ratio,
        "tracked": tracked,
        "targets": {"dspy_over_autotune": TARGET_RATIO, "tracked_per_s": TARGET_TRACKED_RATE},
        "met": {
            "dspy_over_autotune": ratio >= TARGET_RATIO,
            "tracked_per_s": tracked["case_evaluations_per_s"] >= TARGET_TRACKED_RATE,
        },
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULT_PATH}")


if __name__ == "__main__":
    main()
