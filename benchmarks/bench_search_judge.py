"""How well the search's cases judge fixed prompts, against the validation split.

For the cuts of ``bench_search.py`` (same files, sizes and seeds; the test split is not
scored), a few fixed variants of the one-line seed are scored on the evolution's search
cases (the first 30, the old default search set, and all 60, the current one) and on
validation, their answers read raw and calibrated (batch calibration: a bias from the
label probabilities of the same cases' inputs, labels unused). It shows whether the
search could rank the variants the way validation does. With ``--probe N`` they are also
scored on N more cases of the same seeded sample, outside train, validation and test: an
estimate of how the variants do on unseen data that leaves the test split untouched.
With ``--written`` the variants are the named-fields framed seed with instructions
written by hand the way a strong Meta-LLM would (a persona, label definitions, steps, a
format line): how much any instruction text can move this task model.

Usage: python benchmarks/bench_search_judge.py [--tasks sst2] [--cuts 0 1] [--probe 300]
       [--written] [--tag _x]
Writes benchmarks/results/search_judge<tag>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

from _datasets import sample_splits
from bench_search import SIZES, TASKS, write_task

from autotune.bench import load_benchmark, load_prompt
from autotune.bench.case import Case
from autotune.evaluate.calibration import estimate_bias
from autotune.evaluate.evaluator import Evaluator
from autotune.llm import load_llm
from autotune.llm.types import SamplingParams
from autotune.search._build import build_space
from autotune.search.base import SearchSpace
from autotune.search.operators.fields import named_framing
from autotune.search.operators.structural import balanced_demos
from autotune.search.parts import PromptParts
from autotune.search.settings import SearchSettings

RESULTS = Path(__file__).parent / "results"
FRAMED = "Input: {text}\nAnswer:"


def variants(space: SearchSpace) -> dict[str, PromptParts]:
    """The seed, its framings (the named one as the search builds it), and label-balanced
    demos (drawn with a fixed seed)."""
    seed = space.seed
    four = balanced_demos(space.demo_pool, 4, random.Random(0))
    found = {
        "seed": seed,
        "seed, Input/Answer framing": seed.with_(user_template=FRAMED),
        "seed, {text}/Answer framing": seed.with_(user_template="{text}\nAnswer:"),
        "seed + 4 demos": seed.with_(demos=four),
        "seed + 4 demos, Input/Answer framing": seed.with_(demos=four, user_template=FRAMED),
    }
    if named := named_framing(space):
        found[f"seed, {named!r} framing (named fields)"] = seed.with_(user_template=named)
    return found


# Stand-ins for a strong Meta-LLM's section edits, written here (no dataset text).
WRITTEN: dict[str, dict[str, dict[str, str]]] = {
    "sst2": {
        "persona": {"persona": "You are a film critic who reads movie reviews closely."},
        "label definitions": {
            "context": "A review is positive when the reviewer praises the film or would "
            "recommend it, and negative when the reviewer finds fault with it or finds it dull, "
            "even if some parts are praised."
        },
        "steps": {
            "steps": "First find the words that show the reviewer's opinion of the film, then "
            "decide which label they support."
        },
        "format": {"format": "Answer with one word: positive or negative."},
    },
    "agnews": {
        "persona": {"persona": "You are a news editor who files articles by section."},
        "label definitions": {
            "context": "World is politics, wars, governments and international events. Sports "
            "is games, teams, players and competitions. Business is companies, markets, trade "
            "and the economy. Sci/Tech is science, computers, software, the internet and space."
        },
        "steps": {
            "steps": "First find what the article is mainly about, then decide which section "
            "it belongs to."
        },
        "format": {"format": "Answer with one word: World, Sports, Business or Sci/Tech."},
    },
}


def written(space: SearchSpace, task: str) -> dict[str, PromptParts]:
    """The named-fields framed seed, then each written section added to it, then all."""
    framed = space.seed.with_(user_template=named_framing(space) or FRAMED)
    found = {"framed seed": framed}
    every: dict[str, str] = {}
    for name, sections in WRITTEN[task].items():
        found[f"framed seed + {name}"] = _added(framed, sections)
        every.update(sections)
    found["framed seed + all four"] = _added(framed, every)
    return found


def _added(parts: PromptParts, sections: dict[str, str]) -> PromptParts:
    """``parts`` with each of ``sections`` appended to the section of that name."""
    return parts.with_(
        **{name: f"{parts.section(name)} {text}".strip() for name, text in sections.items()}
    )


def probe_cases(task: str, cut: int, size: int) -> tuple[Case, ...]:
    """``size`` cases of the cut's seeded sample after its train, validation and test
    cases (the sample grows at its end, so those three splits are unchanged)."""
    rows = sample_splits(TASKS[task]["file"], {**SIZES, "probe": size}, cut)["probe"]
    return tuple(Case(f"probe-{i}", {"text": r["text"]}, r["label"]) for i, r in enumerate(rows))


def judge(task: str, cut: int, probe: int, by_hand: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suite, seed_file = write_task(folder, task, SIZES, cut)
        bench = load_benchmark(suite)
        seed = load_prompt(seed_file, bench.user_template)
        space = build_space(bench, seed, SearchSettings(search_size=60))
        model = load_llm("smollm2", cache_path=folder / "cache.sqlite")
        params = SamplingParams(temperature=0.0, max_tokens=64, seed=0)
        evaluator = Evaluator(model, bench.metrics, params=params, concurrency=4)
        splits = {  # the 30 first: their requests are asked again, from the cache, for 60
            "search30": space.search_cases[:30],
            "search60": space.search_cases,
            "validation": bench.split("validation"),
        }
        if probe:
            splits["probe"] = probe_cases(task, cut, probe)
        found = []
        chosen = written(space, task) if by_hand else variants(space)
        for name, parts in chosen.items():
            row: dict[str, Any] = {"task": task, "cut": cut, "prompt": name}
            for split, cases in splits.items():
                raw = evaluator.evaluate(parts.to_prompt(), cases)
                bias = estimate_bias([r.choice_logprobs for r in raw.rows if r.choice_logprobs])
                # The evaluator reads the same (cached) answers against the bias.
                calibrated = parts.with_(calibration=bias or ()).to_prompt()
                row[f"{split}_raw"] = raw.mean
                row[f"{split}_calibrated"] = evaluator.evaluate(calibrated, cases).mean
            print(json.dumps(row), flush=True)
            found.append(row)
    return found


def table(rows: Sequence[dict[str, Any]]) -> str:
    splits = [s for s in ("search30", "search60", "validation", "probe") if f"{s}_raw" in rows[0]]
    head = "| task | cut | prompt | " + " | ".join(
        f"{split} {reading}" for split in splits for reading in ("raw", "calibrated")
    )
    head += " |\n|---|---|---|" + "---|" * 2 * len(splits) + "\n"
    return head + "".join(
        f"| {r['task']} | {r['cut']} | {r['prompt']} | "
        + " | ".join(f"{r[f'{s}_{k}']:.3f}" for s in splits for k in ("raw", "calibrated"))
        + " |\n"
        for r in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["sst2"], choices=["sst2", "agnews"])
    parser.add_argument("--cuts", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--probe", type=int, default=0, help="cases outside every split")
    parser.add_argument("--written", action="store_true", help="hand-written instructions")
    parser.add_argument("--tag", default="", help="suffix of the result files' names")
    args = parser.parse_args()
    rows = [
        row
        for t in args.tasks
        for cut in args.cuts
        for row in judge(t, cut, args.probe, args.written)
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"search_judge{args.tag}.json").write_text(json.dumps(rows, indent=2))
    (RESULTS / f"search_judge{args.tag}.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
