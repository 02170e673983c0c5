"""The public labelled data the benchmarks measure on, found from the repository root.

The files live beside the checkout in ``../shared/datasets/`` (one ``{"text", "label"}``
object per line). None of their sentences is copied into the repository.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _main_checkout() -> Path:
    """The repository root, or for a git worktree the main checkout it belongs to (its
    ``.git`` file names ``<main>/.git/worktrees/<name>``), beside which the data lives."""
    marker = REPO_ROOT / ".git"
    if marker.is_file():
        text = marker.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            gitdir = Path(text.partition(":")[2].strip())
            if gitdir.parent.name == "worktrees":
                return gitdir.parent.parent.parent
    return REPO_ROOT


DATASETS = _main_checkout().parent / "shared" / "datasets"


class MissingDataset(SystemExit):
    """A missing data file: one line naming it on stderr, exit code 2."""

    def __init__(self, path: Path) -> None:
        print(f"benchmark data not found: {path} (expected beside the checkout)", file=sys.stderr)
        super().__init__(2)


def dataset_path(name: str) -> Path:
    """``../shared/datasets/<name>`` from the repository root; exits naming it if missing."""
    path = DATASETS / name
    if not path.is_file():
        raise MissingDataset(path)
    return path


def sample_splits(name: str, sizes: dict[str, int], seed: int) -> dict[str, list[dict[str, str]]]:
    """A seeded sample of a data file's rows cut into disjoint splits, in ``sizes`` order."""
    lines = dataset_path(name).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    picked = random.Random(seed).sample(rows, sum(sizes.values()))
    splits, start = {}, 0
    for split, size in sizes.items():
        chunk = picked[start : start + size]
        splits[split] = [{"text": str(r["text"]), "label": str(r["label"])} for r in chunk]
        start += size
    return splits
