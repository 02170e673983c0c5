"""Assign cases to train / validation / test splits."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from autotune.bench.benchmark import SPLITS
from autotune.bench.case import Case

SPLIT_ALIASES = {"train": "train", "validation": "validation", "val": "validation",
                 "valid": "validation", "dev": "validation", "test": "test"}  # fmt: skip


def _counts(size: int, ratios: Sequence[float]) -> list[int]:
    """Split ``size`` by ``ratios`` with largest-remainder rounding (sums to ``size``)."""
    raw = [size * ratio for ratio in ratios]
    counts = [int(value) for value in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for index in by_remainder[: size - sum(counts)]:
        counts[index] += 1
    return counts


def split_by_ratio(
    cases: Sequence[Case],
    ratios: Mapping[str, float],
    *,
    seed: int,
    stratify: Callable[[Case], str] | None = None,
) -> dict[str, tuple[Case, ...]]:
    """Shuffle with ``seed`` and cut by ``ratios``; per group when ``stratify`` is given.

    Each split keeps the cases in file order, so splits read naturally.
    """
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        groups.setdefault(stratify(case) if stratify else "", []).append(index)
    chosen: dict[str, list[int]] = {name: [] for name in SPLITS}
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        counts = _counts(len(members), [ratios.get(name, 0.0) for name in SPLITS])
        offset = 0
        for name, count in zip(SPLITS, counts, strict=True):
            chosen[name].extend(members[offset : offset + count])
            offset += count
    return {name: tuple(cases[i] for i in sorted(chosen[name])) for name in SPLITS}


def split_by_names(cases: Sequence[Case], names: Sequence[str]) -> dict[str, tuple[Case, ...]]:
    """Group cases by their (already validated) split name."""
    return {
        split: tuple(case for case, name in zip(cases, names, strict=True) if name == split)
        for split in SPLITS
    }
