"""Benchmark cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """One test case.

    Attributes:
        id: Stable identifier (from an ``id`` column, else ``<file stem>-<line>``).
        inputs: Field values that fill the prompt's user template.
        expected: The expected output, or None when metrics need none.
        source: Where the case came from, as ``file:line``, for error messages.
        meta: Extra columns not used as inputs (labels sets, schema, notes).
    """

    id: str
    inputs: Mapping[str, Any]
    expected: Any = None
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.id)
