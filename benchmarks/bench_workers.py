"""Candidates per minute with 1, 2, 4 and 8 workers of the real search driver.

Each worker is its own process running ``PromptOptimizer`` (benchmarks/_workers_task.py)
on one study in a real PostgreSQL server (fsync on, a fresh database per run); a
loopback OpenAI-compatible model double answers every call (task model and Meta-LLM)
after a fixed 200 ms with 64 slots, more than all workers ever ask at once (the table
shows the most requests in flight and how many had to queue). Each worker scores at
concurrency 4.

Searchers: ``evolution`` (the default searcher) and ``random`` (the TPE searcher with
Optuna's random sampler and no pruner: each candidate is a function of its trial
number alone, so any number of workers must find the very same best prompt as one).
The evolutionary searcher asks each candidate from the population recorded at that
moment; with several workers that population depends on which worker recorded first,
so its candidates (and possibly its best prompt) differ from a single worker's: for it
the final scores are compared. ``tpe`` (constant liar) can be added with --searchers.

Throughput is taken over the busy period (first candidate started to last candidate
finished, from the study's timestamps), after every worker has imported and met at a
barrier. Rounds interleave the configurations so load from other processes on the
machine falls on all of them alike; speed-up is the median over rounds. Where the time
goes: the seed (scored alone, before any other candidate), each candidate's duration,
how busy the workers were, and the CPU seconds each candidate cost.

Usage: python benchmarks/bench_workers.py [--trials 64] [--rounds 2]
       [--workers 1 2 4 8] [--searchers evolution random] [--track]
Writes benchmarks/results/workers_driver.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "tests" / "search")]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import optuna  # noqa: E402
from model_double import ModelDouble, model_double  # noqa: E402
from real_servers import PostgresServer, mlflow_server, postgres_server  # noqa: E402
from worker_task import Recorder  # noqa: E402

from autotune.search._driver import CANDIDATE_ATTR  # noqa: E402
from autotune.search.settings import SearchSettings  # noqa: E402

RESULTS = HERE / "results"
LATENCY_S = 0.2
SLOTS = 64
SHARED = {"minibatch_size": 8, "search_size": 24, "concurrency": 4, "max_tokens": 8}
SEARCHERS: dict[str, dict[str, Any]] = {
    "evolution": {"n_validate": 3},
    "random": {
        "searcher": "tpe", "sampler": "random", "pruner": "none", "n_minibatches": 3,
        "pool_size": 6, "n_generated": 2, "demo_counts": [0, 2, 4], "n_demo_sets": 4,
        "positions": ["system"],
    },
    "tpe": {
        "searcher": "tpe", "n_minibatches": 3, "pool_size": 6, "n_generated": 2,
        "demo_counts": [0, 2, 4], "n_demo_sets": 4, "positions": ["system"],
    },
}  # fmt: skip


def settings_for(searcher: str, trials: int) -> SearchSettings:
    return SearchSettings(n_trials=trials, **SHARED, **SEARCHERS[searcher])


def run_study(
    pg: PostgresServer,
    double: ModelDouble,
    searcher: str,
    workers: int,
    trials: int,
    tracking: str | None,
) -> dict[str, Any]:
    """One study with ``workers`` processes; its throughput, where the time went, result."""
    url = pg.create_database(f"bench_{uuid.uuid4().hex[:10]}")
    barrier = Path(tempfile.mkdtemp(prefix="autotune-barrier-"))
    settings = settings_for(searcher, trials).model_dump_json()
    args = [url, "bench", double.base_url, str(barrier), str(workers)]
    before = (double.requests, double.queued)
    double.max_in_flight = 0
    task = str(HERE / "_workers_task.py")
    processes = [
        subprocess.Popen(
            [sys.executable, task, *args, f"w{i}", settings, *([tracking] if tracking else [])],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed (exit {process.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    study = optuna.load_study(study_name="bench", storage=url)
    run = timing(study.get_trials(), workers, trials)
    run.update(
        searcher=searcher,
        workers=workers,
        final_phase_runs=sum(r["final_calls_here"] > 0 for r in reports),
        same_result_everywhere=len({json.dumps(r["best_prompt"]) for r in reports}) == 1,
        best_prompt=reports[0]["best_prompt"],
        best_validation=reports[0]["best_validation"],
        best_test=reports[0]["best_test"],
        cpu_s_per_candidate=round(sum(r["cpu_s"] for r in reports) / trials, 3),
        requests=double.requests - before[0],
        queued=double.queued - before[1],
        max_in_flight=double.max_in_flight,
    )
    return run


def timing(trials: list[optuna.trial.FrozenTrial], workers: int, n: int) -> dict[str, Any]:
    """Throughput over the busy period and where the workers' time went."""
    records = [t for t in trials if CANDIDATE_ATTR in t.user_attrs]
    start = min(t.datetime_start for t in records if t.datetime_start)
    end = max(t.datetime_complete for t in records if t.datetime_complete)
    busy = (end - start).total_seconds()
    spans = {t.number: (t.datetime_complete - t.datetime_start).total_seconds() for t in records}
    seed = spans.pop(0)
    return {
        "candidates": len(records),
        "trials_in_study": len(trials),
        "exact_count": len(records) == len(trials) == n,
        "busy_s": round(busy, 2),
        "candidates_per_minute": round(len(records) / busy * 60, 1),
        "seed_s": round(seed, 2),
        "candidate_s_mean": round(statistics.mean(spans.values()), 3),
        "workers_busy_share": round((seed + sum(spans.values())) / (workers * busy), 3),
        "by_worker": sorted(Counter(t.user_attrs.get("worker") for t in records).values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--searchers", nargs="+", default=["evolution", "random"])
    parser.add_argument("--track", action="store_true", help="log to a real mlflow server")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the table from the last results file"
    )
    args = parser.parse_args()
    if args.render:
        rerender(RESULTS / "workers_driver")
        return
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with (
        postgres_server(fsync=True) as pg,
        model_double(Recorder(), latency_s=LATENCY_S, max_concurrency=SLOTS) as double,
        mlflow_server() if args.track else contextlib.nullcontext() as tracking,
    ):
        uri = tracking.url if tracking is not None else None
        for round_index in range(args.rounds):
            for searcher in args.searchers:
                for workers in args.workers:
                    run = run_study(pg, double, searcher, workers, args.trials, uri)
                    run["round"] = round_index
                    runs.append(run)
                    print(json.dumps(run), flush=True)
    payload = {
        "benchmark": "bench_workers",
        "driver": "PromptOptimizer (autotune.search), one process per worker",
        "trials": args.trials,
        "tracking": "mlflow server" if args.track else "off",
        "rounds": args.rounds,
        "model_double": {"latency_s": LATENCY_S, "slots": SLOTS},
        "storage": "PostgreSQL (Debian package, fsync on, loopback)",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "summary": summarize(runs, args.searchers, args.workers),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / "workers_driver"
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    stem.with_suffix(".md").write_text(render(payload))
    print(render(payload))


def rerender(stem: Path) -> None:
    payload = json.loads(stem.with_suffix(".json").read_text())
    searchers = list(dict.fromkeys(r["searcher"] for r in payload["runs"]))
    counts = sorted({r["workers"] for r in payload["runs"]})
    payload["summary"] = summarize(payload["runs"], searchers, counts)
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    stem.with_suffix(".md").write_text(render(payload))
    print(render(payload))


def summarize(runs: list[dict[str, Any]], searchers: list[str], counts: list[int]) -> list[Any]:
    rows = []
    for searcher in searchers:
        mine = [r for r in runs if r["searcher"] == searcher]
        single = [r for r in mine if r["workers"] == counts[0]]
        base = statistics.median(r["candidates_per_minute"] for r in single)
        for workers in counts:
            these = [r for r in mine if r["workers"] == workers]
            rate = round(statistics.median(r["candidates_per_minute"] for r in these), 1)
            rows.append(
                {
                    "searcher": searcher,
                    "workers": workers,
                    "candidates_per_minute": rate,
                    "speedup": round(rate / base, 2),
                    "round_speedups": [
                        round(r["candidates_per_minute"] / s["candidates_per_minute"], 2)
                        for r, s in zip(
                            sorted(these, key=lambda r: r["round"]),
                            sorted(single, key=lambda r: r["round"]),
                            strict=True,
                        )
                    ],
                    # Past the seed (scored alone, first: every candidate builds on it).
                    "after_seed_per_minute": after_seed(these),
                    "after_seed_speedup": round(after_seed(these) / after_seed(single), 2),
                    "seed_s": median(these, "seed_s"),
                    "candidate_s": median(these, "candidate_s_mean"),
                    "busy_share": median(these, "workers_busy_share"),
                    "cpu_s_per_candidate": median(these, "cpu_s_per_candidate"),
                    "exact_count": all(r["exact_count"] for r in these),
                    "one_final_phase": all(r["final_phase_runs"] == 1 for r in these),
                    "same_result_everywhere": all(r["same_result_everywhere"] for r in these),
                    "same_best_prompt_as_1": {r["best_prompt"] for r in these}
                    == {r["best_prompt"] for r in single},
                    "final_scores": sorted({(r["best_validation"], r["best_test"]) for r in these}),
                    "max_in_flight": max(r["max_in_flight"] for r in these),
                    "queued": sum(r["queued"] for r in these),
                }
            )
    return rows


def median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def after_seed(runs: list[dict[str, Any]]) -> float:
    """Median candidates per minute once the seed is scored (the parallel part)."""
    rates = [(r["candidates"] - 1) / (r["busy_s"] - r["seed_s"]) * 60 for r in runs]
    return round(statistics.median(rates), 1)


def render(payload: dict[str, Any]) -> str:
    lines = [
        "# Workers of the search driver on one PostgreSQL study (bench_workers.py)",
        "",
        f"{payload['trials']} candidates per study, {payload['rounds']} interleaved rounds, "
        f"model double {payload['model_double']['latency_s'] * 1000:.0f} ms with "
        f"{payload['model_double']['slots']} slots, concurrency 4 per worker, tracking "
        f"{payload['tracking']}; {payload['cpus']} CPUs shared, load "
        f"{payload['load_average_before']} before, {payload['load_average_after']} after.",
        "",
        "| searcher | workers | candidates/min | speed-up (each round) "
        "| after the seed: /min | speed-up | seed s | s/candidate | busy | CPU s/candidate "
        "| exact count | one final "
        "| same best as 1 | final val/test | in flight (queued) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["summary"]:
        scores = " ".join(f"{v:.2f}/{t:.2f}" for v, t in row["final_scores"])
        lines.append(
            f"| {row['searcher']} | {row['workers']} | {row['candidates_per_minute']} | "
            f"{row['speedup']}x ({', '.join(f'{x}x' for x in row['round_speedups'])}) | "
            f"{row['after_seed_per_minute']} | "
            f"{row['after_seed_speedup']}x | {row['seed_s']} | {row['candidate_s']} | "
            f"{row['busy_share']:.0%} | {row['cpu_s_per_candidate']} | {row['exact_count']} | "
            f"{row['one_final_phase']} | {row['same_best_prompt_as_1']} | {scores} | "
            f"{row['max_in_flight']} ({row['queued']}) |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
