"""Both searchers on SST-2 and AG News with the embedded SmolLM2-135M model.

For each task a seeded sample of ``../shared/datasets/<task>-train.jsonl`` is cut into
train / validation / test (200 test cases the search never sees), written with a plain
one-line seed prompt into a temporary folder (nothing of the data enters the
repository), and searched with default settings by:

* ``evolution``: the default searcher (reflective section edits, per-case Pareto front);
* ``tpe``: TPE with the same call budget as the evolution's search phase (equal calls);
* ``tpe-quickstart``: TPE at the previous quickstart settings, the baseline the issue
  measured (about 1,600 calls including final scoring).

Task model and Meta-LLM are both the embedded model, in process; every real model call
is counted (response-cache hits are not calls). For each run the table has held-out
accuracy of seed and winner with the paired 95% CI of the gain, validation scores,
search and final calls, wall time, the Meta-LLM's rejected edits, and the "does the
Meta-LLM matter" ablation: the winner with the seed's instruction put back (same demos,
framing and position), scored on validation.

Usage: python benchmarks/bench_search.py [--tasks sst2 agnews] [--searchers ...] [--quick]
Writes benchmarks/results/search_<tasks>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _datasets import sample_splits

from autotune.bench import load_benchmark, load_prompt
from autotune.evaluate.evaluator import Evaluator
from autotune.llm import load_llm
from autotune.llm.types import SamplingParams
from autotune.search.events import Progress
from autotune.search.optimizer import PromptOptimizer
from autotune.search.parts import SECTIONS, PromptParts
from autotune.search.reader import read_study
from autotune.search.result import OptimizationResult
from autotune.search.settings import SearchSettings

RESULTS = Path(__file__).parent / "results"
TASKS: dict[str, dict[str, Any]] = {
    "sst2": {
        "file": "sst2-train.jsonl",
        "labels": ["positive", "negative"],
        "seed": "Classify the sentiment of this movie review as positive or negative.",
        "description": "Decide whether a short movie review is positive or negative.",
    },
    "agnews": {
        "file": "agnews-train.jsonl",
        "labels": ["World", "Sports", "Business", "Sci/Tech"],
        "seed": "Classify this news article as World, Sports, Business or Sci/Tech.",
        "description": "Decide the topic of a news article: World, Sports, Business or Sci/Tech.",
    },
}
SIZES = {"train": 100, "validation": 50, "test": 200}
QUICK_SIZES = {"train": 40, "validation": 20, "test": 40}
# The quickstart's search before this round (experiments/quickstart.toml at e1744b4).
QUICKSTART_TPE: dict[str, Any] = {
    "searcher": "tpe",
    "n_trials": 40,
    "pool_size": 8,
    "n_generated": 3,
    "demo_counts": [0, 2, 4, 6, 8],
    "n_demo_sets": 8,
    "answer_strategies": ["direct", "step_by_step"],
    "positions": ["system", "user"],
    "temperatures": [0.0, 0.3, 0.7],
    "minibatch_size": 10,
    "n_minibatches": 3,
    "search_size": 30,
    "n_validate": 4,
    "max_tokens": 32,
}


def write_task(folder: Path, task: str, sizes: dict[str, int], seed: int) -> tuple[Path, Path]:
    """Suite, data and seed prompt files of one task in ``folder``."""
    spec = TASKS[task]
    splits = sample_splits(spec["file"], sizes, seed)
    lines = []
    for split, rows in splits.items():
        for index, row in enumerate(rows):
            lines.append(json.dumps({"id": f"{split}-{index}", "split": split, **row}))
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = ", ".join(json.dumps(label) for label in spec["labels"])
    (folder / "suite.toml").write_text(
        f'name = "{task}"\ndescription = {json.dumps(spec["description"])}\n'
        f'data = "cases.jsonl"\ninput_template = "{{text}}"\nexpected = "label"\nid = "id"\n'
        f'labels = [{labels}]\nsplit = {{ column = "split" }}\n\n[[metrics]]\nname = "label"\n',
        encoding="utf-8",
    )
    (folder / "seed.txt").write_text(spec["seed"] + "\n", encoding="utf-8")
    return folder / "suite.toml", folder / "seed.txt"


def seed_instruction_back(result: OptimizationResult, model: Any, bench: Any) -> float | None:
    """Validation score of the winner with the seed's instruction put back."""
    if result.best_candidate is None:
        return None
    winner = PromptParts.from_prompt(result.best_prompt)
    seed = PromptParts.from_prompt(result.seed_prompt)
    swapped = winner.with_(**{name: seed.section(name) for name in SECTIONS})
    params = SamplingParams(temperature=winner.temperature, max_tokens=64, seed=0)
    evaluator = Evaluator(model, bench.metrics, params=params, concurrency=4)
    return evaluator.evaluate(swapped.to_prompt(), bench.split("validation")).mean


def run_one(
    task: str, searcher: str, settings: SearchSettings, folder: Path, max_calls: int | None
) -> dict[str, Any]:
    suite, seed_file = write_task(folder, task, ARGS.sizes, ARGS.seed)
    bench = load_benchmark(suite)
    seed = load_prompt(seed_file, bench.user_template)
    model = load_llm("smollm2", cache_path=folder / f"cache-{searcher}.sqlite")
    from autotune.llm.accounting import Budget

    def show(event: Progress) -> None:
        if (event.phase == "search" and event.done % 5 == 0) or event.phase != "search":
            print(f"    {task}/{searcher} {event.phase} {event.done}/{event.total} "
                  f"best={event.best} calls={event.calls} {event.elapsed_s:.0f}s {event.note[:70]}",
                  flush=True)  # fmt: skip

    started = time.perf_counter()
    storage = f"sqlite:///{folder / 'optuna.db'}"
    optimizer = PromptOptimizer(
        model, model, settings=settings, budget=Budget(max_calls=max_calls),
        storage=storage, study_name=f"{task}-{searcher}", on_progress=show,
    )  # fmt: skip
    result = optimizer.optimize(bench, seed)
    wall = time.perf_counter() - started
    swapped = seed_instruction_back(result, model, bench)
    held = result.held_out
    return {
        "task": task,
        "searcher": searcher,
        "settings": settings.model_dump(),
        "seed_test": held.seed.mean if held else None,
        "best_test": held.best.mean if held else None,
        "gain": held.gain if held else None,
        "gain_ci": [held.gain_ci_low, held.gain_ci_high] if held else None,
        "test_errors": (held.seed.errors + held.best.errors) if held else None,
        "seed_validation": result.seed_validation,
        "best_validation": result.best_validation,
        "winner_with_seed_instruction_validation": swapped,
        "search_calls": result.usage["calls"] - result.usage["final_calls"],
        "final_calls": result.usage["final_calls"],
        "calls": result.usage["calls"],
        "tokens": result.usage["prompt_tokens"] + result.usage["completion_tokens"],
        "wall_s": wall,
        "candidates": result.candidates,
        "rejected_edits": result.rejected_proposals,
        "operators": {k: list(v) for k, v in result.operators.items()},
        "contributions": [
            {"part": c.part, "with": c.score_with, "without": c.score_without, "kept": c.kept}
            for c in result.contributions
        ],
        "unscored": result.unscored,
        "finalists": [[f.number, f.validation, f.search] for f in result.finalists],
        "best_prompt": without_data(result.best_prompt.to_dict()),
        "candidate_log": [
            [c.number, c.operator, c.status, c.value, c.note[:160]]
            for c in (row.candidate for row in read_study(f"{task}-{searcher}", storage).candidates)
        ],
    }


def without_data(prompt: dict[str, Any]) -> dict[str, Any]:
    """A prompt's record with each demo's input replaced by its length: the data's
    sentences never enter the repository (the answers are the task's labels)."""
    demos = [
        {"input_chars": sum(len(str(v)) for v in d["inputs"].values()), "output": d["output"]}
        for d in prompt.get("demos", [])
    ]
    return {**prompt, "demos": demos}


def table(runs: list[dict[str, Any]]) -> str:
    head = (
        "| task | searcher | seed test | best test | gain (95% CI) | val seed→best | "
        "winner w/ seed instr. (val) | search + final calls | wall | rejected edits |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in runs:
        ci = r["gain_ci"] or [float("nan")] * 2
        swapped = r["winner_with_seed_instruction_validation"]
        lines.append(
            f"| {r['task']} | {r['searcher']} | {r['seed_test']:.3f} | {r['best_test']:.3f} | "
            f"{r['gain'] * 100:+.1f} ({ci[0] * 100:+.1f}..{ci[1] * 100:+.1f}) | "
            f"{r['seed_validation']:.3f}→{r['best_validation']:.3f} | "
            f"{'-' if swapped is None else f'{swapped:.3f}'} | "
            f"{r['search_calls']:.0f} + {r['final_calls']:.0f} | {r['wall_s']:.0f}s | "
            f"{r['rejected_edits']} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    runs: list[dict[str, Any]] = []
    tag = "_".join(ARGS.tasks) + ("_quick" if ARGS.quick else "") + ARGS.tag
    for task in ARGS.tasks:
        evolution_calls: int | None = ARGS.tpe_calls
        for searcher in ARGS.searchers:
            with tempfile.TemporaryDirectory() as tmp:
                if searcher == "tpe-quickstart":
                    settings, limit = SearchSettings(**QUICKSTART_TPE), None
                elif searcher == "tpe":
                    settings, limit = SearchSettings(searcher="tpe"), evolution_calls
                else:
                    settings, limit = SearchSettings(**ARGS.overrides), None
                print(f"== {task} / {searcher} (search call budget {limit})", flush=True)
                run = run_one(task, searcher, settings, Path(tmp), limit)
                if searcher == "evolution":
                    evolution_calls = int(run["search_calls"])
                runs.append(run)
                print(table([run]), flush=True)
                payload = {"load_at_start": os.getloadavg(), "sizes": ARGS.sizes, "runs": runs}
                (RESULTS / f"search_{tag}.json").write_text(json.dumps(payload, indent=2))
                (RESULTS / f"search_{tag}.md").write_text(table(runs))
    print(table(runs))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["sst2", "agnews"], choices=list(TASKS))
    parser.add_argument(
        "--searchers", nargs="+", default=["evolution", "tpe", "tpe-quickstart"],
        choices=["evolution", "tpe", "tpe-quickstart"],
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small splits, for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tpe-calls", type=int, default=None,
        help="search-call budget of `tpe` when evolution is not run in the same invocation",
    )  # fmt: skip
    parser.add_argument("--tag", default="", help="suffix of the results files' names")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=JSON",
        help="a search setting of the evolution runs, e.g. calibrate_search=true",
    )  # fmt: skip
    args = parser.parse_args()
    args.overrides = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
    args.sizes = QUICK_SIZES if args.quick else SIZES
    return args


if __name__ == "__main__":
    ARGS = parse_args()
    main()
