"""Stop rules: when a partial answer is decided, decoding may stop early.

A metric often knows its verdict before the model has finished talking: the label
metric once the first allowed label has been written out in full, an exact-match
metric once the output can no longer equal the expected text. It says so with a
:class:`StopRule` carried in :attr:`SamplingParams.stop_rule
<autotune.llm.types.SamplingParams.stop_rule>`; backends call :meth:`StopRule.decided`
on the text generated so far and stop there.

The rule's contract: when ``decided(text)`` is true, every continuation of ``text``
gets the same verdict as ``text`` itself. The LLM layer only calls ``decided``; the
rules live with the metrics that know their semantics. Rules are frozen dataclasses,
so they are hashable and picklable; :meth:`StopRule.to_dict` is their JSON form,
part of the response-cache key (an early-stopped answer never answers a full request).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable
from typing import Any, ClassVar


class StopRule(abc.ABC):
    """Decides, from a partial answer, that the rest cannot change its verdict.

    Subclasses are frozen dataclasses whose fields are JSON-friendly (str, int,
    float, bool and tuples of them), and set ``kind`` to a name unique to the rule.
    """

    kind: ClassVar[str] = "rule"

    @abc.abstractmethod
    def decided(self, text: str) -> bool:
        """True when no continuation of ``text`` can change the verdict on it."""

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-friendly data: ``kind`` and the dataclass fields."""
        fields: dict[str, Any] = {}
        if dataclasses.is_dataclass(self):
            fields = dataclasses.asdict(self)
        return {"kind": self.kind, **fields}


@dataclasses.dataclass(frozen=True)
class AllDecided(StopRule):
    """Decided when every one of ``rules`` is (a weighted score of several metrics)."""

    kind: ClassVar[str] = "all"
    rules: tuple[StopRule, ...]

    def decided(self, text: str) -> bool:
        return all(rule.decided(text) for rule in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rules": [rule.to_dict() for rule in self.rules]}


def all_decided(rules: Iterable[StopRule | None]) -> StopRule | None:
    """One rule decided when all of ``rules`` are; None if any is None (never decided)."""
    collected = list(rules)
    if not collected or any(rule is None for rule in collected):
        return None
    unique = tuple(dict.fromkeys(rule for rule in collected if rule is not None))
    return unique[0] if len(unique) == 1 else AllDecided(unique)
