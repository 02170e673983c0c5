"""Meta-prompt templates (package data) and the blocks they are filled with."""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from autotune.bench.case import Case
from autotune.evaluate.results import CaseResult
from autotune.prompt import fill_template

MAX_FIELD_CHARS = 300
MAX_FAILURES_SHOWN = 4


@cache
def load_template(name: str) -> string.Template:
    """A meta-prompt template from ``autotune/meta/templates`` (``$name`` placeholders)."""
    text = resources.files("autotune.meta").joinpath("templates", name).read_text("utf-8")
    return string.Template(text)


def render_template(name: str, **values: str) -> str:
    """Fill a template; placeholders without a value stay as written."""
    return load_template(name).safe_substitute(values)


def clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """One line of at most ``limit`` characters (long inputs would flood the context)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def show_value(value: Any) -> str:
    """Expected values as the model should write them (JSON for structures)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def examples_block(cases: Sequence[Case], user_template: str) -> str:
    """Cases as ``Input: ... / Output: ...`` pairs."""
    blocks = []
    for case in cases:
        try:
            shown = fill_template(user_template, case.inputs)
        except KeyError:
            shown = " ".join(str(v) for v in case.inputs.values())
        blocks.append(f"Input: {clip(shown)}\nOutput: {clip(show_value(case.expected))}")
    return "\n\n".join(blocks)


def failures_block(failures: Sequence[CaseResult], limit: int = MAX_FAILURES_SHOWN) -> str:
    """The worst failures as input / model output / expected / why, for the Critic."""
    if not failures:
        return "(no failures recorded)"
    blocks = []
    for row in list(failures)[:limit]:
        inputs = " | ".join(f"{k}: {v}" for k, v in row.inputs.items())
        why = row.error or row.reason or f"score {row.score:.2f}"
        blocks.append(
            f"Input: {clip(inputs)}\n"
            f"Model output: {clip(row.output)}\n"
            f"Expected: {clip(show_value(row.expected))}\n"
            f"Why it failed: {clip(why, 160)}"
        )
    return "\n\n".join(blocks)
