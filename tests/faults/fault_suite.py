"""The fault matrix's suite, secrets and output checks (shared by its test files)."""

from __future__ import annotations

from pathlib import Path

PLANTED_KEY = "sk-test-PLANTED-7d1e9b3c55"
PASSWORD = "hunter2-PLANTED-pw"

SUITE = """
name = "faults"
description = "Repeat the word."
data = "cases.jsonl"
input_template = "Word: {word}"
expected = "answer"
split = { column = "split" }

[[metrics]]
name = "exact"
"""

CASES = 20


def write_suite(folder: Path, cases: int = CASES) -> None:
    """suite.toml, cases.jsonl (all test split except 4 train + 4 validation), seed.txt."""
    lines = []
    for index in range(cases):
        split = "train" if index < 4 else "validation" if index < 8 else "test"
        lines.append(
            f'{{"id": "c{index}", "word": "w{index}", "answer": "scripted answer", '
            f'"split": "{split}"}}'
        )
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "suite.toml").write_text(SUITE)
    (folder / "seed.txt").write_text("Repeat the word.\n")
    (folder / "other.txt").write_text("Say the word again.\n")


def error_lines(stderr: str) -> list[str]:
    """The ``autotune: error:`` lines; the test also checks there is no traceback."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("autotune: error:")]
