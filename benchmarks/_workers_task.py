"""One worker process of bench_workers.py: the real search driver on a toy review task.

``PromptOptimizer`` (the searcher the settings name) runs the study in PostgreSQL with the
model double as task model and Meta-LLM (the scripted answers of tests/search: a review
is classified right once a Meta-LLM edit put "CAREFULLY" or "boring films" in the
prompt). Tracking is off unless a tracking URI is given: the benchmark measures the
search and its storage. Workers wait at a barrier after their imports, so they start
together, then print one JSON line: what they ran, their CPU time and the result.

Usage (started by bench_workers.py):
    _workers_task.py STORAGE STUDY BASE_URL BARRIER N_WORKERS NAME SETTINGS_JSON [TRACKING]
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "search"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def benchmark(train: int = 48, validation: int = 16, test: int = 16) -> object:
    """The toy task of tests/search/search_doubles.py, with more cases."""
    from search_doubles import benchmark as small
    from search_doubles import make_cases

    from autotune.bench.benchmark import Benchmark

    splits = {
        "train": make_cases("train", train),
        "validation": make_cases("val", validation),
        "test": make_cases("test", test),
    }
    cases = tuple(case for split in splits.values() for case in split)
    base = small()
    return Benchmark(
        name="toy", cases=cases, metrics=base.metrics, user_template=base.user_template,
        description=base.description, splits=splits, labels=base.labels,
    )  # fmt: skip


def main() -> None:
    storage, study, base_url, barrier, n_workers, name, settings_json = sys.argv[1:8]
    tracking = sys.argv[8] if len(sys.argv) > 8 else None
    import optuna
    from search_doubles import seed_prompt

    from autotune.llm import load_llm
    from autotune.search.optimizer import PromptOptimizer
    from autotune.search.settings import SearchSettings
    from autotune.tracking.base import NullTracker, Tracker

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracker: Tracker = NullTracker()
    if tracking:
        from autotune.tracking.mlflow_sink import MlflowTracker

        tracker = MlflowTracker(tracking, f"bench {study}")
    llm = load_llm(f"openai:double@{base_url}", no_cache=True)
    settings = SearchSettings.model_validate_json(settings_json)
    optimizer = PromptOptimizer(
        llm, llm, settings=settings, storage=storage, study_name=study, tracker=tracker
    )
    task = benchmark()
    pathlib.Path(barrier, name).touch()  # imports done: start together
    while len(list(pathlib.Path(barrier).iterdir())) < int(n_workers):
        time.sleep(0.005)
    cpu, wall = time.process_time(), time.perf_counter()
    result = optimizer.optimize(task, seed_prompt())  # type: ignore[arg-type]
    report = {
        "worker": name,
        "pid": os.getpid(),
        "cpu_s": round(time.process_time() - cpu, 2),
        "wall_s": round(time.perf_counter() - wall, 2),
        "final_calls_here": optimizer.final_meter.snapshot().calls,
        "best_prompt": result.best_prompt.system,
        "best_candidate": result.best_candidate,
        "best_validation": result.best_validation,
        "best_test": result.held_out.best.mean if result.held_out else None,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
