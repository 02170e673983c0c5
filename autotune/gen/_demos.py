"""The few-shot examples of a prompt, as texts synthetic cases must not repeat."""

from __future__ import annotations

import re

from autotune.prompt import Prompt

# "Input: ..." lines of an Examples section (how generated prompts write examples).
_INPUT_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:\d+[.)]\s*)?input\s*:\s*(?P<text>.+)$", re.I | re.M)


def demo_texts(prompt: Prompt) -> list[str]:
    """The inputs of ``prompt``'s demos and of the ``Input:`` examples in its system text."""
    texts = [" ".join(str(value) for value in demo.input_dict().values()) for demo in prompt.demos]
    texts += [match.group("text") for match in _INPUT_LINE.finditer(prompt.system)]
    return [text.strip() for text in texts if text.strip()]
