"""Trials per minute with 1, 2, 4 and 8 workers on one study in PostgreSQL.

A real PostgreSQL server (fsync on, a fresh database per run) holds the study; a loopback
OpenAI-compatible model double answers every call after a fixed 200 ms with 64 slots
(more than all workers ever ask at once, so the server is not the bottleneck: the
table shows the most requests in flight and how many ever had to queue). Each worker
is its own process running ``benchmarks/_workers_task.py``: TPE (constant liar) over six
instructions and two temperatures, each trial scoring its prompt on ``--cases`` cases at
concurrency 4 through the openai backend and the evaluator; tickets give exactly
``--trials`` trials across the workers and one worker runs the final phase.

This measures the multi-worker machinery (storage, tickets, heartbeats, leases, the
evaluator and HTTP stack) with a small fixed search, not yet the full search driver
(which is to run on the same tickets and leases). Rounds interleave the worker counts
so load from other processes on the machine falls on all of them alike; throughput is
taken over the busy period (first trial started to last trial finished, from the
study's timestamps), after every worker has imported and met at a barrier. Speed-up is
the median over rounds.

Usage: python benchmarks/bench_workers.py [--trials 64] [--cases 16] [--rounds 3]
       [--workers 1 2 4 8]
Writes benchmarks/results/workers_<cases>cases.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import optuna  # noqa: E402
from _workers_task import answer  # noqa: E402
from model_double import model_double  # noqa: E402
from real_servers import PostgresServer, postgres_server  # noqa: E402

RESULTS = HERE / "results"
LATENCY_S = 0.2
SLOTS = 64


def run_once(
    pg: PostgresServer, base_url: str, workers: int, trials: int, cases: int
) -> dict[str, Any]:
    """One study with ``workers`` processes; its throughput and shared result."""
    url = pg.create_database(f"bench_{uuid.uuid4().hex[:10]}")
    barrier = Path(tempfile.mkdtemp(prefix="autotune-barrier-"))
    task = str(HERE / "_workers_task.py")
    started = time.perf_counter()
    args = [url, str(trials), base_url, str(barrier), str(workers)]
    processes = [
        subprocess.Popen(
            [sys.executable, task, *args, f"w{i}", str(cases)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed (exit {process.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name="bench", storage=url)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    busy = max(t.datetime_complete for t in complete) - min(t.datetime_start for t in complete)
    busy_s = busy.total_seconds()
    finals = {json.dumps(r["final"]["best_instruction"]) for r in reports}
    return {
        "workers": workers,
        "trials_complete": len(complete),
        "trials_in_study": len(study.trials),
        "busy_s": round(busy_s, 2),
        "trials_per_minute": round(len(complete) / busy_s * 60, 1),
        "wall_s_with_start_and_final": round(wall, 1),
        "final_phase_runs": len({r["final"]["by"] for r in reports}),
        "same_result_everywhere": len(finals) == 1,
        "best_instruction": reports[0]["final"]["best_instruction"],
        "best_validation": reports[0]["final"]["validation"],
        "trials_per_worker": sorted(r["ran"] for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--cases", type=int, default=16, help="cases each trial scores")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with (
        postgres_server(fsync=True) as pg,
        model_double(answer, latency_s=LATENCY_S, max_concurrency=SLOTS) as server,
    ):
        for round_index in range(args.rounds):
            for workers in args.workers:
                run = run_once(pg, server.base_url, workers, args.trials, args.cases)
                run["round"] = round_index
                runs.append(run)
                print(json.dumps(run), flush=True)
        served = {"requests": server.requests, "max_in_flight": server.max_in_flight}
        served["queued"] = server.queued
    summary = summarize(runs, args.workers)
    payload = {
        "benchmark": "bench_workers",
        "trials": args.trials,
        "cases_per_trial": args.cases,
        "rounds": args.rounds,
        "model_double": {"latency_s": LATENCY_S, "slots": SLOTS, **served},
        "storage": "PostgreSQL (Debian package, fsync on, loopback)",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "summary": summary,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"workers_{args.cases}cases"
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    stem.with_suffix(".md").write_text(render(payload))
    print(render(payload))


def summarize(runs: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    base = statistics.median(r["trials_per_minute"] for r in runs if r["workers"] == counts[0])
    rows = []
    for workers in counts:
        mine = [r for r in runs if r["workers"] == workers]
        rate = statistics.median(r["trials_per_minute"] for r in mine)
        rows.append(
            {
                "workers": workers,
                "trials_per_minute_median": rate,
                "speedup_median": round(rate / base, 2),
                "all_exact_trial_count": all(
                    r["trials_complete"] == r["trials_in_study"] for r in mine
                ),
                "one_final_phase_each": all(r["final_phase_runs"] == 1 for r in mine),
                "best_instructions": sorted({r["best_instruction"] for r in mine}),
            }
        )
    return rows


def render(payload: dict[str, Any]) -> str:
    lines = [
        "# Workers on one PostgreSQL study (bench_workers.py)",
        "",
        f"{payload['trials']} trials per study, {payload['cases_per_trial']} cases per trial "
        f"at concurrency 4, {payload['rounds']} interleaved rounds, "
        f"model double {payload['model_double']['latency_s'] * 1000:.0f} ms, "
        f"{payload['model_double']['slots']} slots (most in flight: "
        f"{payload['model_double']['max_in_flight']}, queued: "
        f"{payload['model_double']['queued']}); {payload['cpus']} CPUs, load "
        f"{payload['load_average_before']} before, {payload['load_average_after']} after.",
        "",
        "| workers | trials/min (median) | speed-up | exact trial count | one final phase "
        "| best instruction |",
        "|---|---|---|---|---|---|",
    ]
    for row in payload["summary"]:
        lines.append(
            f"| {row['workers']} | {row['trials_per_minute_median']} | "
            f"{row['speedup_median']}x | {row['all_exact_trial_count']} | "
            f"{row['one_final_phase_each']} | {' / '.join(row['best_instructions'])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
