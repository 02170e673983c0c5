"""Output files of the generation commands: checked before any model call, written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from autotune._atomic import write_atomic
from autotune.bench.prompt_file import toml_text
from autotune.errors import DataError, UserInputError
from autotune.gen.synth import SynthReport

DATA_SUFFIXES = (".jsonl", ".ndjson")
SUITE_FILE = "suite.toml"
DEFAULT_SPLIT = {"train": 0.6, "validation": 0.2, "test": 0.2}


def check_writable(path: str | Path, *, field: str) -> Path:
    """``path`` if a file can be written there (its folder may not exist yet).

    Raises:
        UserInputError: The path is a folder, sits below a file, or its nearest
            existing folder is not writable.
    """
    target = Path(path)
    if target.is_dir():
        raise UserInputError("is a folder, not a file", file=str(target), field=field)
    if target.exists() and not os.access(target, os.W_OK):
        raise UserInputError("the file is not writable", file=str(target), field=field)
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        message = f"cannot create the file: {ancestor} is not a folder"
        raise UserInputError(message, file=str(target), field=field)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        message = f"cannot create the file: folder {ancestor} is not writable"
        raise UserInputError(message, file=str(target), field=field)
    return target


def suite_path_for(data_path: str | Path) -> Path:
    """Where the suite file of a synthetic data file goes: ``suite.toml`` beside it."""
    return Path(data_path).with_name(SUITE_FILE)


def check_data_path(data_path: str | Path, *, field: str = "out") -> Path:
    """A writable ``.jsonl`` path whose ``suite.toml`` neighbour is writable too."""
    path = Path(data_path)
    if path.suffix.lower() not in DATA_SUFFIXES:
        message = f"must end in .jsonl (got {path.suffix or 'no suffix'!r})"
        raise UserInputError(message, file=str(path), field=field)
    check_writable(path, field=field)
    check_writable(suite_path_for(path), field=field)
    return path


def write_benchmark(
    report: SynthReport,
    data_path: str | Path,
    *,
    judge_model: str = "smollm2",
    seed: int = 0,
) -> Path:
    """Write the kept cases as JSONL and a ``suite.toml`` beside it; return the suite path.

    Labelled tasks are scored with the ``label`` metric; tasks without expected outputs
    with an LLM ``judge`` (``judge_model``) against the task description.

    Raises:
        DataError: No case was kept (a benchmark needs at least one).
    """
    path = Path(data_path)
    if not report.cases:
        raise DataError("no case was kept, so no benchmark was written", file=str(path))
    rows = []
    for number, case in enumerate(report.cases, start=1):
        row: dict[str, Any] = {"id": f"synth-{number:04d}", "input": case.input}
        if report.labels:
            row["expected"] = case.expected
        rows.append(json.dumps(row, ensure_ascii=False))
    write_atomic(path, "\n".join(rows) + "\n")
    suite = suite_path_for(path)
    write_atomic(suite, toml_text(suite_document(report, path.name, judge_model, seed)))
    return suite


def suite_document(
    report: SynthReport, data_name: str, judge_model: str, seed: int
) -> dict[str, Any]:
    """The suite file's keys (what ``load_benchmark`` reads)."""
    document: dict[str, Any] = {
        "name": Path(data_name).stem,
        "description": report.task,
        "data": data_name,
        "input_template": "{input}",
    }
    if report.labels:
        document["expected"] = "expected"
        document["labels"] = list(report.labels)
        metrics: list[dict[str, Any]] = [{"name": "label"}]
    else:
        document["expected"] = ""
        rubric = f"The answer does this task well and stays on topic: {report.task}"
        metrics = [{"name": "judge", "rubric": rubric, "model": judge_model}]
    document["split"] = {**DEFAULT_SPLIT, "seed": seed}
    document["metrics"] = metrics
    return document
