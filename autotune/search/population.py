"""All candidates of a study so far, and the questions searchers ask of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from autotune.search.candidate import Candidate


def rank_key(candidate: Candidate) -> tuple[float, float, int]:
    """Best first: higher search score, then fewer prompt tokens, then older."""
    return (-(candidate.value or 0.0), candidate.tokens(), candidate.number)


class Population:
    """The study's candidates by number (a resumed study rebuilds it from storage)."""

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._by_number: dict[int, Candidate] = {}
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: Candidate) -> None:
        self._by_number[candidate.number] = candidate

    def __iter__(self) -> Iterator[Candidate]:
        return iter(sorted(self._by_number.values(), key=lambda c: c.number))

    def __len__(self) -> int:
        return len(self._by_number)

    def get(self, number: int) -> Candidate:
        return self._by_number[number]

    def accepted(self) -> list[Candidate]:
        """Candidates scored on every search case (the ones to build on and select from)."""
        return [c for c in self if c.status == "accepted" and c.value is not None]

    def ranked(self) -> list[Candidate]:
        """Accepted candidates best first, one per distinct prompt."""
        seen: set[str] = set()
        ranked = []
        for candidate in sorted(self.accepted(), key=rank_key):
            fingerprint = candidate.parts.fingerprint()
            if fingerprint not in seen:
                seen.add(fingerprint)
                ranked.append(candidate)
        return ranked

    def seed(self) -> Candidate | None:
        """The accepted seed candidate, once it is scored."""
        return next((c for c in self.accepted() if c.operator == "seed"), None)

    def knows(self, fingerprint: str) -> int | None:
        """The number of a candidate already tried with this prompt, if any."""
        for candidate in self:
            if candidate.status != "failed" and candidate.parts.fingerprint() == fingerprint:
                return candidate.number
        return None

    def operator_stats(self) -> dict[str, tuple[int, int]]:
        """Per operator: (accepted children, tried children), for adaptive selection."""
        stats: dict[str, tuple[int, int]] = {}
        for candidate in self:
            if candidate.operator == "seed" or candidate.status == "running":
                continue
            won, tried = stats.get(candidate.operator, (0, 0))
            stats[candidate.operator] = (won + (candidate.status == "accepted"), tried + 1)
        return stats
