"""The quickstart study's wall time, before and after a change, with the same results.

``record`` runs ``experiments/quickstart.toml`` (or ``--experiment FILE``; no tracking,
no response cache, a fresh study, no wall-time budget so that every run does all its
trials) with the model wrapped in a recorder, and writes the wall time and every model
call to a JSON file. Run it once on each version of the code (e.g. a checkout without
the change, with ``PYTHONPATH`` pointing at it, and this one). ``--sequential`` runs
this code with batching and early stop turned off (one call at a time on the model's
own context, every answer to ``max_tokens``): the same search code on both sides.

``compare`` reads two such files and adds a named comparison to
``benchmarks/results/quickstart_speed.json`` (and ``.md``): both wall times, and, for
every task call made with the same messages at temperature 0 in both runs, whether its
per-case score is the same (the label verdict for calls that carry a stop rule in either
run, the text itself for the others).

Usage:
    python benchmarks/bench_quickstart_speed.py record OUT.json [--trials N]
        [--experiment FILE] [--sequential]
    python benchmarks/bench_quickstart_speed.py compare BEFORE.json AFTER.json [--name N --note T]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _datasets import REPO_ROOT

from autotune.bench.case import Case
from autotune.llm import BaseLLM, Completion, LLMWrapper, Message, SamplingParams
from autotune.metrics import build_metric

QUICKSTART = REPO_ROOT / "experiments" / "quickstart.toml"
CASES = REPO_ROOT / "benchmarks" / "sentiment" / "cases.jsonl"
RESULT_PATH = Path(__file__).parent / "results" / "quickstart_speed.json"
LABEL = build_metric({"name": "label", "labels": ["positive", "negative"]})


class Recorder(LLMWrapper):
    """Passes calls through and keeps each one's request and answer."""

    def __init__(self, inner: BaseLLM) -> None:
        super().__init__(inner)
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        completion = self.inner.execute(messages, params)
        self._keep(messages, params, completion)
        return completion

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        completion = await self.inner.aexecute(messages, params)
        self._keep(messages, params, completion)
        return completion

    def _keep(
        self, messages: Sequence[Message], params: SamplingParams, answer: Completion
    ) -> None:
        with self._lock:
            self.calls.append(
                {
                    "messages": [m.to_dict() for m in messages],
                    "temperature": params.temperature,
                    "max_tokens": params.max_tokens,
                    "seed": params.seed,
                    "sample_index": params.sample_index,
                    "stop_rule": getattr(params, "stop_rule", None) is not None,
                    "text": answer.text,
                    "completion_tokens": answer.completion_tokens,
                }
            )


class Sequential(LLMWrapper):
    """The model as before batching and early stop: one call at a time (no batch of
    concurrent calls reaches the backend) and no stop rule (answers run to the end)."""

    @property
    def batch_size(self) -> int:
        return 1

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        return self.inner.execute(messages, _without_stop_rule(params))

    async def aexecute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        return await asyncio.to_thread(self.execute, messages, params)


def _without_stop_rule(params: SamplingParams) -> SamplingParams:
    return params.with_(stop_rule=None) if getattr(params, "stop_rule", None) else params


def record(out: Path, trials: int | None, experiment_file: Path, sequential: bool) -> None:
    from autotune._run import build_llms, run_experiment
    from autotune.experiment import load_experiment

    experiment = load_experiment(experiment_file)
    scratch = Path(tempfile.mkdtemp(prefix="quickstart-speed-"))
    experiment.tracking.enabled = False
    experiment.tracking.storage = f"sqlite:///{scratch / 'optuna.db'}"
    experiment.models.cache = False
    experiment.budget.max_wall_s = None
    experiment.output.dir = str(scratch / "out")
    if trials is not None:
        experiment.search.n_trials = trials
    task, meta = build_llms(experiment)
    if sequential:
        shared = meta is task
        task = Sequential(task)
        meta = task if shared else Sequential(meta)
    recorders = [Recorder(task)] if meta is task else [Recorder(task), Recorder(meta)]
    load = os.getloadavg()
    start = time.perf_counter()
    result = run_experiment(experiment, llms=(recorders[0], recorders[-1]))
    wall = time.perf_counter() - start
    calls = [call for recorder in recorders for call in recorder.calls]
    out.write_text(
        json.dumps(
            {
                "wall_s": wall,
                "experiment": experiment_file.name,
                "n_trials": experiment.search.n_trials,
                "sequential": sequential,
                "load_average_start": load,
                "load_average_end": os.getloadavg(),
                # trials by state (TPE driver) or candidates by status (evolution driver)
                "trials": getattr(result, "trials", None) or getattr(result, "candidates", None),
                "best_validation": result.best_validation,
                "usage": result.usage,
                "prefix_stats": _prefix_stats(task),
                "calls": calls,
            },
            default=str,
        )
    )
    print(f"{wall:.0f} s, {len(calls)} calls, {experiment.search.n_trials} trials -> {out}")


def _prefix_stats(llm: BaseLLM) -> dict[str, int] | None:
    """The embedded backend's batch-engine prefix reuse (None on code without it)."""
    while isinstance(llm, LLMWrapper):
        llm = llm.inner
    stats = getattr(llm, "prefix_stats", None)
    return dataclasses.asdict(stats) if stats is not None else None


def _key(call: dict[str, Any]) -> str:
    fields = ("messages", "temperature", "max_tokens", "seed", "sample_index")
    return json.dumps([call[f] for f in fields], sort_keys=True)


def _expected(call: dict[str, Any], labels: dict[str, str]) -> str | None:
    """The label of the case a task call answers (its last message ends with the case)."""
    last = call["messages"][-1]["content"]
    for text, label in labels.items():
        if last.endswith(text):
            return label
    return None


def compare(before_path: Path, after_path: Path, name: str, note: str) -> None:
    before, after = (json.loads(p.read_text()) for p in (before_path, after_path))
    lines = CASES.read_text(encoding="utf-8").splitlines()
    labels = {row["text"]: row["label"] for row in map(json.loads, filter(None, lines))}
    after_by_key = {_key(call): call for call in after["calls"]}
    matched = same = 0
    differing: list[dict[str, Any]] = []
    for call in before["calls"]:
        twin = after_by_key.get(_key(call))
        expected = _expected(call, labels)
        if twin is None or call["temperature"] != 0.0 or expected is None:
            continue
        matched += 1
        if call["stop_rule"] or twin["stop_rule"]:
            case = Case("c", {"text": ""}, expected)
            equal = LABEL.score(call["text"], case).value == LABEL.score(twin["text"], case).value
        else:
            equal = call["text"] == twin["text"]
        same += equal
        if not equal:
            differing.append({"before": call["text"], "after": twin["text"]})
    entry = {
        "note": note,
        "before": _side(before),
        "after": _side(after),
        "speedup": round(before["wall_s"] / after["wall_s"], 2),
        "temperature0_task_calls_in_both": matched,
        "same_score": same,
        "same_score_share": round(same / matched, 4) if matched else None,
        "differing_examples": differing[:5],
    }
    report = json.loads(RESULT_PATH.read_text()) if RESULT_PATH.is_file() else {}
    report.setdefault("benchmark", "quickstart_speed")
    report.setdefault("comparisons", {})[name] = entry
    RESULT_PATH.write_text(json.dumps(report, indent=2, default=str) + "\n")
    RESULT_PATH.with_suffix(".md").write_text(_markdown(report["comparisons"]))
    print(json.dumps({k: v for k, v in entry.items() if k != "differing_examples"}, indent=2))


def _side(run: dict[str, Any]) -> dict[str, Any]:
    keys = ("wall_s", "experiment", "n_trials", "sequential", "trials", "load_average_start")
    keys += ("prefix_stats",)
    return {
        **{k: run.get(k) for k in keys},
        "load_average_end": run.get("load_average_end"),
        "calls": len(run["calls"]),
        "completion_tokens": sum(call["completion_tokens"] or 0 for call in run["calls"]),
        "usage": run.get("usage"),
    }


def _markdown(comparisons: dict[str, Any]) -> str:
    lines = [
        "# Quickstart wall time before/after (bench_quickstart_speed.py)",
        "",
        "| comparison | trials | before s | after s | speedup | calls before/after "
        "| completion tokens before/after | t=0 task calls in both | same score | load 1-min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in comparisons.items():
        b, a = e["before"], e["after"]
        loads = f"{b['load_average_start'][0]:.1f} / {a['load_average_start'][0]:.1f}"
        lines.append(
            f"| {name} | {b['n_trials']} | {b['wall_s']:.0f} | {a['wall_s']:.0f} | "
            f"{e['speedup']:.2f}x | {b['calls']}/{a['calls']} | "
            f"{b['completion_tokens']}/{a['completion_tokens']} | "
            f"{e['temperature0_task_calls_in_both']} | {e['same_score']} "
            f"({(e['same_score_share'] or 0) * 100:.1f}%) | {loads} |"
        )
    lines += [""] + [f"- **{name}**: {e['note']}" for name, e in comparisons.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--trials", type=int)
    rec.add_argument("--experiment", type=Path, default=QUICKSTART)
    rec.add_argument("--sequential", action="store_true")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--name", default="quickstart")
    cmp.add_argument("--note", default="")
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.trials, args.experiment, args.sequential)
    else:
        compare(args.before, args.after, args.name, args.note)


if __name__ == "__main__":
    main()
