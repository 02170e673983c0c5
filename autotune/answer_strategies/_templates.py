"""Meta-prompt templates of the strategies, shipped as ``templates/*.md`` package data."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def load_template(name: str) -> str:
    """The text of ``templates/<name>.md`` without its trailing newline."""
    path = resources.files("autotune.answer_strategies").joinpath("templates", f"{name}.md")
    return path.read_text(encoding="utf-8").rstrip("\n")
