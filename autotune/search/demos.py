"""Few-shot demo sets drawn from the training split.

Demos are the strongest lever on small models (on SST-2 the same instruction scored
51% to 85% with different 4- and 8-shot sets), so the search picks a set and how many
of its demos to show. Sets are drawn once per study from a seeded RNG, so a resumed
study sees the same sets.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from autotune.bench.case import Case
from autotune.meta._render import show_value
from autotune.prompt import Demo


def split_train(train: Sequence[Case], seed: int) -> tuple[list[Case], list[Case]]:
    """Split the training cases into a demo pool and a scoring pool.

    A case shown as a demo and scored in the same trial would be answered by copying;
    keeping the pools apart makes mini-batch scores honest. The demo pool takes about
    40% of the cases (at least 2, at most 60).
    """
    cases = list(train)
    random.Random(seed).shuffle(cases)
    if len(cases) < 4:
        return cases, cases
    n_demo = min(60, max(2, round(len(cases) * 0.4)))
    return cases[:n_demo], cases[n_demo:]


def draw_demo_sets(
    pool: Sequence[Case], *, n_sets: int, size: int, seed: int
) -> list[tuple[Demo, ...]]:
    """``n_sets`` demo sets of ``size`` demos each.

    When cases have label-like expected values, each set interleaves the labels so
    that any prefix of it is as balanced as possible.
    """
    if not pool or size == 0:
        return [() for _ in range(n_sets)]
    rng = random.Random(seed)
    by_label: dict[str, list[Case]] = defaultdict(list)
    for case in pool:
        by_label[show_value(case.expected)].append(case)
    labelled = 1 < len(by_label) <= 12
    sets = []
    for _ in range(n_sets):
        chosen = _interleaved(by_label, size, rng) if labelled else _sample(pool, size, rng)
        sets.append(tuple(Demo.of(case.inputs, show_value(case.expected)) for case in chosen))
    return sets


def _sample(pool: Sequence[Case], size: int, rng: random.Random) -> list[Case]:
    return rng.sample(list(pool), min(size, len(pool)))


def _interleaved(by_label: dict[str, list[Case]], size: int, rng: random.Random) -> list[Case]:
    queues = {label: rng.sample(cases, len(cases)) for label, cases in by_label.items()}
    chosen: list[Case] = []
    while len(chosen) < size and any(queues.values()):
        labels = [label for label, queue in queues.items() if queue]
        rng.shuffle(labels)
        for label in labels:
            if len(chosen) < size:
                chosen.append(queues[label].pop())
    return chosen
