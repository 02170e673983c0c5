"""Cases and a scripted model whose behaviour the system prompt chooses.

- ``GOOD`` in the instruction: the right label.
- ``BAD``: always "positive" (wrong on every negative case).
- ``NOISY``: the right label, except on sample 1 of each case ("positive").
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.metrics.base import BaseMetric, MetricSet, Score
from autotune.prompt import Prompt
from autotune.search.optimizer import PromptOptimizer
from autotune.search.result import OptimizationResult
from autotune.search.settings import SearchSettings
from autotune.tracking.base import Tracker

NEGATIVE_EVERY = 3  # cases 0, 3, 6, ... are negative


class Brief(BaseMetric):
    """1 when the answer has at most three words."""

    name = "brief"

    def score(self, output: str, case: Case) -> Score:
        return Score(1.0) if len(output.split()) <= 3 else Score(0.0, "too long")


def make_cases(count: int) -> list[Case]:
    cases = []
    for index in range(count):
        label = "negative" if index % NEGATIVE_EVERY == 0 else "positive"
        cases.append(Case(f"c{index:02d}", {"text": f"item {index} felt {label}"}, label))
    return cases


def answer(messages: Sequence[Message], params: SamplingParams) -> str:
    system = " ".join(m.content for m in messages if m.role == "system")
    truth = "negative" if "negative" in messages[-1].content else "positive"
    if "BAD" in system:
        return "positive"
    if "NOISY" in system and params.sample_index == 1:
        return "positive"
    return truth


def prompt(system: str, name: str = "") -> Prompt:
    return Prompt(system=system, user_template="{text}", name=name or system.split()[0].lower())


# --- a small study: the task model is right only when the instruction says CAREFULLY ---

REFINED = "## Persona\nA critic.\n\n## Steps\nRead CAREFULLY and decide.\n\n## Format\npositive"


def task_answer(messages: Sequence[Message], params: SamplingParams) -> str:
    seen = " ".join(m.content for m in messages)
    if "CAREFULLY" not in seen:
        return "positive, I think"
    return "negative" if "negative" in messages[-1].content else "positive"


def meta_answer(messages: Sequence[Message], params: SamplingParams) -> str:
    text = messages[-1].content
    if "most important problems" in text:
        return "- The prompt never asks the model to read carefully."
    if "Rewrite the prompt" in text:
        return REFINED
    return "## Persona\nA helper.\n\n## Context\nShort reviews."


def study_benchmark(metrics: MetricSet) -> Benchmark:
    # Twelve validation cases: on four, a searched instruction right on two more cases
    # is not clearly better than the seed's (the final phase's paired interval reaches 0).
    cases = make_cases(28)
    train, validation, test = tuple(cases[:12]), tuple(cases[12:24]), tuple(cases[24:])
    return Benchmark(
        name="toy",
        cases=tuple(cases),
        metrics=metrics,
        user_template="{text}",
        description="Decide if a review is positive or negative.",
        splits={"train": train, "validation": validation, "test": test},
        labels=("positive", "negative"),
    )


def run_study(
    storage: str, metrics: MetricSet, tracker: Tracker | None = None, name: str = "toy"
) -> OptimizationResult:
    """Six TPE candidates with scripted models; refinement finds the CAREFULLY prompt."""
    settings = SearchSettings(
        searcher="tpe",
        n_trials=6,
        pool_size=3,
        n_generated=1,
        demo_counts=[0],
        n_demo_sets=1,
        positions=["system"],
        minibatch_size=4,
        n_minibatches=2,
        n_validate=2,
        concurrency=2,
    )
    optimizer = PromptOptimizer(
        ScriptedLLM(task_answer, model_id="task"),
        ScriptedLLM(meta_answer, model_id="meta"),
        settings=settings,
        tracker=tracker,
        storage=storage,
        study_name=name,
    )
    seed = Prompt(system="Classify the text.", user_template="{text}", name="seed")
    return optimizer.optimize(study_benchmark(metrics), seed)


# --- a real headless browser ---


def find_chromium() -> str | None:
    """Debian's chromium; installed with apt-get when missing and we may (root)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    install = (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"])
    for command in install:
        try:
            subprocess.run(command, capture_output=True, timeout=900, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
    return shutil.which("chromium")


def chromium_args(chromium: str, profile: Path) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]


def rendered_dom(chromium: str, page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran."""
    args = [*chromium_args(chromium, profile), "--dump-dom", page.resolve().as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(chromium: str, page: Path, profile: Path, out: Path) -> Path:
    args = [
        *chromium_args(chromium, profile),
        "--window-size=1280,2400",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    subprocess.run(args, capture_output=True, timeout=180, check=True)
    return out
