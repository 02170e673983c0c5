"""GBNF grammars a llama.cpp backend decodes with (other backends ignore them).

llama.cpp aborts the whole process on a grammar it cannot parse, so every literal is
escaped here rather than by callers.
"""

from __future__ import annotations

from collections.abc import Sequence

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(text: str) -> str:
    """``text`` as a GBNF string literal: UTF-8 kept as is, quote, backslash and
    control characters escaped."""
    body = "".join(
        _ESCAPES.get(char, f"\\x{ord(char):02X}" if ord(char) < 0x20 else char) for char in text
    )
    return f'"{body}"'


def choice_grammar(choices: Sequence[str]) -> str:
    """A grammar whose only sentences are ``choices``, each exactly as spelled.

    Raises:
        ValueError: No choice, or an empty one (a grammar cannot hold an empty answer
            apart from no answer).
    """
    if not choices or any(not choice for choice in choices):
        raise ValueError("a choice grammar needs at least one non-empty choice")
    return "root ::= " + " | ".join(_literal(choice) for choice in dict.fromkeys(choices))
