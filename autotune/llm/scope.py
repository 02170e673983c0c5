"""Call scopes: name what a group of model calls is for (a case, a Reflexion step).

Callers wrap work in :func:`call_scope`; a wrapper that records calls (tracing) reads
:func:`current_scopes` to group them. Nothing here records anything: with no recorder
a scope costs one context-variable set and reset.
"""

from __future__ import annotations

import itertools
import time
from contextvars import ContextVar, Token
from typing import Any

_SCOPES: ContextVar[tuple[CallScope, ...]] = ContextVar("autotune_call_scopes", default=())
_IDS = itertools.count(1)


class CallScope:
    """One named unit of work; the calls made inside it belong to it.

    Attributes:
        name: What it is (``"case c01"``, ``"critique"``).
        kind: ``"case"``, ``"step"`` or another word a display may use.
        inputs: What the unit started from (a case's inputs), for display.
        key: Who it belongs to (a case id), to join it with results later.
    """

    __slots__ = ("_token", "id", "inputs", "key", "kind", "name", "parent", "start_ns")

    def __init__(self, name: str, kind: str = "step", inputs: Any = None, key: str = "") -> None:
        self.id = next(_IDS)
        self.name = name
        self.kind = kind
        self.inputs = inputs
        self.key = key
        self.start_ns = 0
        self.parent: CallScope | None = None
        self._token: Token[tuple[CallScope, ...]] | None = None

    def __enter__(self) -> CallScope:
        scopes = _SCOPES.get()
        self.parent = scopes[-1] if scopes else None
        self.start_ns = time.time_ns()
        self._token = _SCOPES.set((*scopes, self))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _SCOPES.reset(self._token)
            self._token = None


def call_scope(name: str, kind: str = "step", inputs: Any = None, key: str = "") -> CallScope:
    """A context manager: the model calls inside belong to a scope called ``name``."""
    return CallScope(name, kind, inputs, key)


def current_scopes() -> tuple[CallScope, ...]:
    """The open scopes, outermost first (empty outside any scope)."""
    return _SCOPES.get()
