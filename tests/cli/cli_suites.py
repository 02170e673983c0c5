"""A sentiment suite for the CLI tests of compare, regress and report.

The ``fake`` model echoes the last user message, so the label metric reads the label
out of the case text: every case passes with a prompt in the system message. A prompt
whose instruction goes into the user message and says "positive" first makes the echo
start with "positive", so every negative case fails: a planted regression.
"""

from __future__ import annotations

import json
from pathlib import Path

SUITE = """
name = "tiny"
description = "Label the sentiment."
data = "cases.jsonl"
input_template = "Review: {text}"
expected = "label"
labels = ["positive", "negative"]
split = { column = "split" }

[[metrics]]
name = "label"
"""

CASE_COUNT = 20
NEGATIVE_EVERY = 3  # 7 of 20 cases are negative


def negative_ids() -> list[str]:
    return [f"r{i:02d}" for i in range(CASE_COUNT) if i % NEGATIVE_EVERY == 0]


def write_suite(folder: Path) -> None:
    """suite.toml, cases.jsonl (all in the test split) and three prompt files."""
    lines = []
    for index in range(CASE_COUNT):
        label = "negative" if index % NEGATIVE_EVERY == 0 else "positive"
        row = {"id": f"r{index:02d}", "text": f"item {index} was {label}", "label": label}
        lines.append(json.dumps({**row, "split": "test"}))
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "suite.toml").write_text(SUITE)
    (folder / "base.txt").write_text("Label the review.\n")
    (folder / "same.txt").write_text("Name the sentiment of the review.\n")
    (folder / "worse.toml").write_text('system = "Say positive."\ninstruction_position = "user"\n')


def sqlite_uri(path: Path) -> str:
    return "sqlite:///" + path.as_posix()
