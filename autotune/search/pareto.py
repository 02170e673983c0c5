"""The per-case Pareto front: which candidates are worth building on.

A candidate is on the front when it is the best (or tied best) on at least one search
case. Averages hide a prompt that alone solves a few hard cases; the front keeps it, so
the search can combine strengths instead of polishing one prompt (GEPA's insight).
Cases nobody solves tell no candidate apart and are left out; a candidate whose won
cases are a subset of another's is dominated and left out too (on equal sets the cheaper
prompt stays). A parent is drawn with weight equal to the number of cases it wins.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from autotune.search.candidate import Candidate

_TIE = 1e-9


def case_winners(candidates: Sequence[Candidate], cases: Sequence[str]) -> dict[str, list[int]]:
    """For each case someone solves (best score > 0), the candidates with the best score."""
    winners: dict[str, list[int]] = {}
    table = [(candidate.number, candidate.scores()) for candidate in candidates]
    for case in cases:
        scored = [(scores[case], number) for number, scores in table if case in scores]
        if not scored:
            continue
        best = max(score for score, _ in scored)
        if best <= 0.0:
            continue
        winners[case] = [number for score, number in scored if score >= best - _TIE]
    return winners


def front_weights(candidates: Sequence[Candidate], cases: Sequence[str]) -> dict[int, int]:
    """Non-dominated front candidates and how many cases each wins."""
    won: dict[int, set[str]] = defaultdict(set)
    for case, numbers in case_winners(candidates, cases).items():
        for number in numbers:
            won[number].add(case)
    cost = {c.number: (c.tokens(), c.number) for c in candidates}

    def dominated(number: int) -> bool:
        mine = won[number]
        return any(
            other != number and mine <= theirs and (mine < theirs or cost[other] < cost[number])
            for other, theirs in won.items()
        )

    return {number: len(cases_won) for number, cases_won in won.items() if not dominated(number)}


def select_parent(weights: dict[int, int], rng: random.Random) -> int:
    """A front candidate, drawn with probability proportional to the cases it wins."""
    numbers = sorted(weights)
    return rng.choices(numbers, weights=[weights[n] for n in numbers], k=1)[0]
