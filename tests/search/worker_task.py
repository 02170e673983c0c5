"""The toy review task of ``search_doubles`` as files and an HTTP model, for workers.

Worker processes run the real command (``autotune worker``) against the loopback model
double (tests/model_double.py). The double answers task calls like the scripted task
model (right only once a Meta-LLM edit put ``CAREFULLY`` or ``boring films`` in the
prompt) and Meta-LLM calls like the scripted Meta-LLM, and it records every request so
a test can count what each phase asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import search_doubles
from search_doubles import make_cases

from autotune.llm.types import Message, SamplingParams

META_OPENINGS = ("You review prompts", "You are an expert prompt engineer", "You improve one")


class Recorder:
    """The double's answer function; keeps (kind, messages) of every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[dict[str, str]]]] = []
        self._lock = threading.Lock()

    def __call__(self, messages: Sequence[dict[str, str]]) -> str:
        converted = [Message(m["role"], m["content"]) for m in messages]
        meta = any(m.content.startswith(META_OPENINGS) for m in converted)
        with self._lock:
            self.requests.append(("meta" if meta else "task", list(messages)))
        if meta:
            return search_doubles.meta_answer(converted)
        return search_doubles.task_answer(converted, SamplingParams())

    def task_requests(self, text: str) -> list[list[dict[str, str]]]:
        """Task requests whose case (the last message) contains ``text``."""
        return [m for kind, m in self.requests if kind == "task" and text in m[-1]["content"]]

    def meta_calls(self) -> int:
        return sum(kind == "meta" for kind, _ in self.requests)


def write_task(folder: Path) -> tuple[Path, Path]:
    """The suite (24 train, 8 validation, 8 test cases) and the seed prompt file."""
    rows = [
        {"id": case.id, "text": case.inputs["text"], "label": case.expected, "split": split}
        for split, prefix, n in (
            ("train", "train", 24),
            ("validation", "val", 8),
            ("test", "test", 8),
        )
        for case in make_cases(prefix, n)
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    suite = folder / "suite.toml"
    suite.write_text(
        'name = "toy"\n'
        'description = "Decide if a review is positive or negative."\n'
        'data = "cases.jsonl"\ninput_template = "{text}"\nexpected = "label"\nid = "id"\n'
        'labels = ["positive", "negative"]\nsplit = { column = "split" }\n\n'
        '[[metrics]]\nname = "label"\n'
    )
    seed = folder / "seed.txt"
    seed.write_text(search_doubles.seed_prompt().system + "\n")
    return suite, seed


def write_experiment(
    folder: Path, base_url: str, *, name: str, trials: int, searcher: str = "evolution"
) -> Path:
    """An experiment on the toy task whose task model and Meta-LLM are the double."""
    suite, seed = write_task(folder)
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nbenchmark = "{suite.name}"\nseed_prompt = "{seed.name}"\n\n'
        f'[models]\ntask = "openai:double@{base_url}"\ncache = false\n\n'
        f'[search]\nsearcher = "{searcher}"\nn_trials = {trials}\npool_size = 4\n'
        "n_generated = 1\ndemo_counts = [0, 2]\nn_demo_sets = 2\npositions = ['system']\n"
        "minibatch_size = 4\nsearch_size = 12\nn_minibatches = 2\nn_validate = 3\n"
        "concurrency = 4\n\n"
        '[output]\ndir = "out"\n'
    )
    return path
