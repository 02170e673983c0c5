"""The quickstart study's wall time, before and after a change, with the same results.

``record`` runs ``experiments/quickstart.toml`` (no tracking, no response cache, a fresh
study, no wall-time budget so that every run does all its trials) with the model
wrapped in a recorder, and writes the wall time and every model call to a JSON file.
Run it once on each version of the code (e.g. a checkout without the change, with
``PYTHONPATH`` pointing at it, and this one).

``compare`` reads two such files and writes ``benchmarks/results/quickstart_speed.json``:
both wall times, and, for every task call made with the same messages at temperature
0 in both runs, whether its per-case score is the same (the label verdict for calls
that carry a stop rule in either run, the text itself for the others).

Usage:
    python benchmarks/bench_quickstart_speed.py record OUT.json [--trials N]
    python benchmarks/bench_quickstart_speed.py compare BEFORE.json AFTER.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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


def record(out: Path, trials: int | None) -> None:
    from autotune._run import build_llms, run_experiment
    from autotune.experiment import load_experiment

    experiment = load_experiment(QUICKSTART)
    scratch = Path(tempfile.mkdtemp(prefix="quickstart-speed-"))
    experiment.tracking.enabled = False
    experiment.tracking.storage = f"sqlite:///{scratch / 'optuna.db'}"
    experiment.models.cache = False
    experiment.budget.max_wall_s = None
    experiment.output.dir = str(scratch / "out")
    if trials is not None:
        experiment.search.n_trials = trials
    task, meta = build_llms(experiment)
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
                "load_average_start": load,
                "load_average_end": os.getloadavg(),
                "trials": result.trials,
                "best_validation": result.best_validation,
                "usage": result.usage,
                "calls": calls,
            },
            default=str,
        )
    )
    print(f"{wall:.0f} s, {len(calls)} calls, trials {result.trials} -> {out}")


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


def compare(before_path: Path, after_path: Path) -> None:
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
    summary = {
        "benchmark": "quickstart_speed",
        "experiment": "experiments/quickstart.toml (no tracking, no cache, no wall budget)",
        "before": {k: before[k] for k in ("wall_s", "trials", "load_average_start", "usage")},
        "after": {k: after[k] for k in ("wall_s", "trials", "load_average_start", "usage")},
        "speedup": round(before["wall_s"] / after["wall_s"], 2),
        "calls": {"before": len(before["calls"]), "after": len(after["calls"])},
        "temperature0_task_calls_in_both": matched,
        "same_score": same,
        "differing_examples": differing[:5],
    }
    RESULT_PATH.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "differing_examples"}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--trials", type=int)
    cmp = sub.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.trials)
    else:
        compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
