"""Label log-probabilities from an OpenAI-compatible answer's ``top_logprobs``.

A server reports the most likely first tokens (at most 20) as text, not token ids, so
a choice's first token is found by its text: the candidate tokens whose text (leading
space removed) starts the choice and no other choice. A choice none of the listed
tokens starts gets the smallest listed log-probability, the most it can have.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

TOP_LOGPROBS = 20
"""How many first tokens to ask for (the OpenAI API's maximum)."""


LOGPROB_FIELDS = ("logprobs", "top_logprobs")
"""The request fields :func:`logprob_request` sets (dropped for a server that rejects them)."""


def logprob_request(choices: Sequence[str]) -> dict[str, Any]:
    """The request fields that ask for the first token's alternatives."""
    return dict(zip(LOGPROB_FIELDS, (True, TOP_LOGPROBS), strict=True)) if choices else {}


def first_token_alternatives(choice: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The ``top_logprobs`` of the answer's first token in one ``choices`` item (a whole
    message or a stream chunk), or None when it carries none."""
    content = (choice.get("logprobs") or {}).get("content") or []
    if not content or not isinstance(content[0], Mapping):
        return None
    top = content[0].get("top_logprobs")
    return list(top) if isinstance(top, list) and top else None


def choice_logprobs(
    alternatives: Sequence[Mapping[str, Any]], choices: Sequence[str]
) -> tuple[float, ...] | None:
    """Each choice's first-token log-probability (see the module docstring); None when
    the server's alternatives are unreadable."""
    found: dict[str, float] = {}
    floor = math.inf
    for item in alternatives:
        token, value = item.get("token"), item.get("logprob")
        if not isinstance(token, str) or not isinstance(value, int | float):
            return None
        floor = min(floor, float(value))
        text = token.lstrip()
        starts = [c for c in choices if text and c.startswith(text)]
        if len(starts) == 1:
            best = found.get(starts[0], -math.inf)
            found[starts[0]] = max(best, float(value))
    if not math.isfinite(floor):
        return None
    return tuple(found.get(choice, floor) for choice in choices)
