"""Evaluator throughput on the embedded model (SmolLM2-135M, llama.cpp), against the
path it replaced and against raw llama-cpp-python, in one run.

Workloads, built at run time from ``../shared/datasets/sst2-train.jsonl``:

- ``trial``: a realistic search trial: an instruction and 6 demos (a ~250-token shared
  prefix), 30 cases, label metric, ``max_tokens`` 32, greedy. With demos the model
  answers with a bare label, so decoding is mostly the cases' prompt tokens.
- ``ramble``: the seed prompt of the quickstart (an instruction, no demos): the model
  talks until ``max_tokens``, naming a label somewhere, as early trials do.

Variants, interleaved in rounds so that the load of other processes hits all alike:

- ``today``: the previous path: the Evaluator (concurrency 8) over ``LlamaCppLLM`` as it
  was (``create_chat_completion`` one call at a time under a lock, llama-cpp-python's
  default threads), no early stop;
- ``raw``: a bare loop of ``create_chat_completion`` calls (default threads);
- ``raw_1thread``: the same loop with one thread for prompts (what the thread choice
  alone is worth on a loaded machine);
- ``batched``: the Evaluator over ``load_llm("smollm2")`` today: batched decoding, the
  label metric's early stop, measured thread choice;
- ``batched_no_stop``: the same without early stop (what batching alone is worth).

Per variant: cases/s per round, best and median, process CPU seconds, completion tokens,
and whether the per-case scores equal ``today``'s. The load average is recorded.

Usage: python benchmarks/bench_embedded_throughput.py [--rounds 3] [--workloads trial ramble]
Writes benchmarks/results/embedded_throughput.json and .md and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _datasets import sample_splits

from autotune.bench.case import Case
from autotune.evaluate import EvalResult, Evaluator
from autotune.llm import BaseLLM, Completion, Message, SamplingParams, load_llm
from autotune.llm.embedded import default_gguf_path
from autotune.metrics import MetricSet, WeightedMetric, build_metric
from autotune.prompt import Demo, Prompt

RESULT_PATH = Path(__file__).parent / "results" / "embedded_throughput.json"
LABELS = ["positive", "negative"]
INSTRUCTION = (
    "You are a careful sentiment classifier for movie reviews. Read the review and decide "
    "whether the reviewer's overall opinion of the film is positive or negative. Reviews "
    "can be sarcastic, use negation or mix praise with complaints: judge the overall "
    "verdict, not single words. Answer with one word, positive or negative."
)
SEED_INSTRUCTION = "Classify the sentiment of the text."
PARAMS = SamplingParams(temperature=0.0, max_tokens=32, seed=0)
METRICS = MetricSet([WeightedMetric(build_metric({"name": "label", "labels": LABELS}))])


class TodayLLM(BaseLLM):
    """``LlamaCppLLM`` before batching, kept verbatim: ``create_chat_completion`` one call
    at a time under a lock, on a model with llama-cpp-python's default threads."""

    backend = "llama_cpp"
    model_id = "smollm2-today"

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self.lock = threading.Lock()

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        start = time.perf_counter()
        with self.lock:
            response = self.llama.create_chat_completion(
                messages=[m.to_dict() for m in messages],
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                stop=list(params.stop) or None,
                seed=0 if params.seed is None else params.seed,
            )
        usage = response["usage"]
        return Completion(
            text=response["choices"][0]["message"]["content"] or "",
            finish_reason=response["choices"][0]["finish_reason"] or "stop",
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            latency_s=time.perf_counter() - start,
            model=self.model_id,
        )


def workload(name: str, seed: int) -> tuple[Prompt, list[Case]]:
    """The prompt and the 30 cases of a workload (sampled from SST-2 at run time)."""
    rows = sample_splits("sst2-train.jsonl", {"demos": 6, "cases": 30}, seed)
    cases = [Case(f"c{i}", {"text": r["text"]}, r["label"]) for i, r in enumerate(rows["cases"])]
    if name == "ramble":
        return Prompt(system=SEED_INSTRUCTION, user_template="{text}"), cases
    demos = tuple(Demo.of({"text": r["text"]}, r["label"]) for r in rows["demos"])
    return Prompt(system=INSTRUCTION, user_template="{text}", demos=demos), cases


class Variants:
    """The variants' models, loaded once; each run returns per-case scores and tokens."""

    def __init__(self) -> None:
        from llama_cpp import Llama

        path = str(default_gguf_path())
        self.today_llama = Llama(model_path=path, n_ctx=2048, verbose=False)
        self.raw_llama = Llama(model_path=path, n_ctx=2048, verbose=False)
        self.raw1_llama = Llama(model_path=path, n_ctx=2048, verbose=False, n_threads_batch=1)
        self.today = TodayLLM(self.today_llama)
        self.batched = load_llm("smollm2", no_cache=True)

    def runners(self) -> dict[str, Callable[[Prompt, list[Case]], dict[str, Any]]]:
        return {
            "today": lambda p, c: _evaluate(self.today, p, c, early_stop=False),
            "raw": lambda p, c: _raw_loop(self.raw_llama, p, c),
            "raw_1thread": lambda p, c: _raw_loop(self.raw1_llama, p, c),
            "batched": lambda p, c: _evaluate(self.batched, p, c, early_stop=True),
            "batched_no_stop": lambda p, c: _evaluate(self.batched, p, c, early_stop=False),
        }


def _evaluate(llm: BaseLLM, prompt: Prompt, cases: list[Case], early_stop: bool) -> dict[str, Any]:
    evaluator = Evaluator(llm, METRICS, params=PARAMS, concurrency=8, early_stop=early_stop)
    result: EvalResult = evaluator.evaluate(prompt, cases)
    if result.errors:
        raise SystemExit(f"{result.errors} cases failed: {result.failures[0].error}")
    return {
        "scores": [row.score for row in result.rows],
        "outputs": [row.output for row in result.rows],
        "completion_tokens": sum(row.completion_tokens for row in result.rows),
    }


def _raw_loop(llama: Any, prompt: Prompt, cases: list[Case]) -> dict[str, Any]:
    outputs, tokens = [], 0
    for case in cases:
        messages = [m.to_dict() for m in prompt.render(case.inputs)]
        response = llama.create_chat_completion(
            messages=messages, temperature=0.0, top_p=1.0, max_tokens=PARAMS.max_tokens, seed=0
        )
        outputs.append(response["choices"][0]["message"]["content"] or "")
        tokens += response["usage"]["completion_tokens"]
    scores = [METRICS.score(output, case)[0] for output, case in zip(outputs, cases, strict=True)]
    return {"scores": scores, "outputs": outputs, "completion_tokens": tokens}


def run_rounds(variants: Variants, name: str, rounds: int, seed: int) -> dict[str, Any]:
    prompt, cases = workload(name, seed)
    runners = variants.runners()
    prefix = len(variants.today_llama.tokenize(prompt.render({"text": ""})[0].content.encode()))
    per_round: list[dict[str, Any]] = []
    for number in range(1, rounds + 1):
        row: dict[str, Any] = {"load_before": os.getloadavg()[0]}
        for variant, run in runners.items():
            start, cpu = time.perf_counter(), time.process_time()
            measured = run(prompt, cases)
            wall = time.perf_counter() - start
            row[variant] = {
                "wall_s": round(wall, 3),
                "cases_per_s": round(len(cases) / wall, 3),
                "cpu_s": round(time.process_time() - cpu, 3),
                **measured,
            }
            print(f"  {name} round {number} {variant}: {len(cases) / wall:.2f} cases/s", flush=True)
        row["load_after"] = os.getloadavg()[0]
        per_round.append(row)
    return summarize(name, per_round, list(runners), prompt, cases, prefix)


def summarize(
    name: str,
    rounds: list[dict[str, Any]],
    variants: list[str],
    prompt: Prompt,
    cases: list[Case],
    system_tokens: int,
) -> dict[str, Any]:
    today_scores = [r["today"]["scores"] for r in rounds]
    summary: dict[str, Any] = {}
    for variant in variants:
        rates = [r[variant]["cases_per_s"] for r in rounds]
        same = [r[variant]["scores"] == s for r, s in zip(rounds, today_scores, strict=True)]
        summary[variant] = {
            "cases_per_s_best": max(rates),
            "cases_per_s_median": statistics.median(rates),
            "cpu_s_median": statistics.median(r[variant]["cpu_s"] for r in rounds),
            "completion_tokens": rounds[-1][variant]["completion_tokens"],
            "scores_equal_today": all(same),
            "accuracy": statistics.fmean(rounds[-1][variant]["scores"]),
        }
    for variant in variants:
        for base in ("today", "raw"):
            summary[variant][f"speedup_vs_{base}_best"] = round(
                summary[variant]["cases_per_s_best"] / summary[base]["cases_per_s_best"], 2
            )
            summary[variant][f"speedup_vs_{base}_median"] = round(
                summary[variant]["cases_per_s_median"] / summary[base]["cases_per_s_median"], 2
            )
    for round_ in rounds:
        for variant in variants:
            round_[variant].pop("outputs", None)
            round_[variant].pop("scores", None)
    return {
        "workload": name,
        "cases": len(cases),
        "demos": len(prompt.demos),
        "instruction_tokens_approx": system_tokens,
        "summary": summary,
        "rounds": rounds,
    }


def print_table(results: list[dict[str, Any]]) -> None:
    for result in results:
        print(f"\n{result['workload']}: {result['cases']} cases, {result['demos']} demos")
        print(
            f"  {'variant':<16} {'best':>7} {'median':>7} {'cpu s':>7} {'tokens':>7} "
            f"{'x today':>8} {'x raw':>6}  same scores"
        )
        for variant, s in result["summary"].items():
            print(
                f"  {variant:<16} {s['cases_per_s_best']:>7.2f} {s['cases_per_s_median']:>7.2f} "
                f"{s['cpu_s_median']:>7.1f} {s['completion_tokens']:>7} "
                f"{s['speedup_vs_today_median']:>8.2f} {s['speedup_vs_raw_median']:>6.2f}  "
                f"{s['scores_equal_today']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", nargs="+", default=["trial", "ramble"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    variants = Variants()
    load_start = os.getloadavg()
    results = [run_rounds(variants, name, args.rounds, args.seed) for name in args.workloads]
    print_table(results)
    report = {
        "benchmark": "embedded_throughput",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
        },
        "rounds": args.rounds,
        "results": results,
    }
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    RESULT_PATH.with_suffix(".md").write_text(markdown(report))
    print(f"\nwrote {RESULT_PATH} and .md")


def markdown(report: dict[str, Any]) -> str:
    """The result as tables (per workload: best and median cases/s, ratios)."""
    machine = report["machine"]
    loads = [f"{x:.1f}" for x in (*machine["load_average_start"], *machine["load_average_end"])]
    lines = [
        "# Embedded evaluator throughput (bench_embedded_throughput.py)",
        "",
        f"{machine['cpus']} CPUs, {report['rounds']} interleaved rounds; load average "
        f"(1/5/15 min) at start {' / '.join(loads[:3])}, at end {' / '.join(loads[3:])}.",
    ]
    for result in report["results"]:
        rounds_load = [f"{r['load_before']:.1f}" for r in result["rounds"]]
        lines += [
            "",
            f"## {result['workload']}: {result['cases']} cases, {result['demos']} demos, "
            f"~{result['instruction_tokens_approx']}-token system message",
            "",
            f"Load (1 min) before each round: {', '.join(rounds_load)}.",
            "",
            "| variant | best cases/s | median cases/s | CPU s (median) | completion tokens "
            "| x today (median) | x raw (median) | x today (best) | x raw (best) "
            "| scores = today |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for variant, s in result["summary"].items():
            lines.append(
                f"| {variant} | {s['cases_per_s_best']:.2f} | {s['cases_per_s_median']:.2f} "
                f"| {s['cpu_s_median']:.1f} | {s['completion_tokens']} "
                f"| {s['speedup_vs_today_median']:.2f} | {s['speedup_vs_raw_median']:.2f} "
                f"| {s['speedup_vs_today_best']:.2f} | {s['speedup_vs_raw_best']:.2f} "
                f"| {s['scores_equal_today']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
