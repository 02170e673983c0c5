"""The generation request of ``synth``: a few-shot conversation that small models follow.

Measured on the embedded SmolLM2-135M: asked for "N test inputs, one per line" it writes
markdown tables and chatter; asked for "a customer message about X" it mostly answers as
the support agent. Shown a short conversation in which each request (a task in words)
was answered with one message in the sender's own voice, it continues the pattern for
the real task. The conversation lives in ``synth_cases.md``: a ``## system`` section,
``## example`` sections (``Task:``, ``Label:``, ``Message:``) and a ``## request`` section
with ``$task``, ``$label_line`` and ``$what``.

:func:`clean_message` turns one such reply into the message alone: no quotes, no
``Message:`` prefix, no greeting or signature lines, no notes after it, no sentence cut
off by the token limit.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache

from autotune.llm.types import Message
from autotune.meta._render import load_template

TEMPLATE = "synth_cases.md"
MAX_MESSAGE_CHARS = 1000
MAX_PARAGRAPHS = 3

_SECTION = re.compile(r"^##\s+(system|example|request)\s*$", re.MULTILINE)
_FIELD = re.compile(r"^(Task|Label|Message):\s*(.*)$", re.MULTILINE)
_PREFIX = re.compile(
    r"^(?:(?:customer|user|support|test|your|new)\s+)*(?:message|e-?mail|input|text|example|"
    r"question|tweet|review|ticket|request|reply)\s*#?\d*\s*:\s*",
    re.IGNORECASE,
)
_SUBJECT = re.compile(r"^(?:subject|re|to|from)\s*:", re.IGNORECASE)
_GREETING = re.compile(
    r"^(?:dear|hi|hello|hey|greetings)\b(?:\s+[\w\[\]'.-]+){0,3}\s*[,:!]?$", re.I
)
_HEADER = re.compile(r"^[^.!?]{0,60}:$")
_SIGN_OFF = re.compile(
    r"^(?:sincerely|best|regards|thanks|thank you|cheers|warm regards|kind regards|"
    r"best regards|yours truly|all the best)\b[^.!?]{0,20}[,.!]?$",
    re.IGNORECASE,
)
_NOTE = re.compile(r"^\(?(?:note|p\.\s?s\.?)(?:\W|$)", re.IGNORECASE)
_PLACEHOLDER_LINE = re.compile(r"^[\[(<{][^\])>}]{1,40}[\])>}]$")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
_QUOTES = "\"'“”‘’`"


@dataclass(frozen=True)
class Example:
    """A worked example of the template: a task, a label for it and one message."""

    task: str
    label: str
    message: str


@dataclass(frozen=True)
class CasePrompt:
    """The parsed template: system text, worked examples, the request pattern."""

    system: str
    examples: tuple[Example, ...]
    request: string.Template

    def messages(self, task: str, *, label: str | None = None, count: int = 1) -> list[Message]:
        """The conversation asking for ``count`` messages for ``task`` (with ``label``)."""
        conversation = [Message("system", self.system)] if self.system else []
        for example in self.examples:
            shown = example.label if label is not None else None
            conversation.append(Message("user", self.ask(example.task, shown, 1)))
            conversation.append(Message("assistant", example.message))
        conversation.append(Message("user", self.ask(task, label, count)))
        return conversation

    def ask(self, task: str, label: str | None, count: int) -> str:
        """One request of the conversation."""
        what = "one message" if count == 1 else f"{count} different messages, one per line,"
        label_line = f"\nLabel: {label}" if label is not None else ""
        return self.request.safe_substitute(task=task, label_line=label_line, what=what)


@cache
def case_prompt(name: str = TEMPLATE) -> CasePrompt:
    """The generation conversation of template ``name`` (parsed once)."""
    return parse_case_prompt(load_template(name).template)


def parse_case_prompt(text: str) -> CasePrompt:
    """Split a ``## system`` / ``## example`` / ``## request`` template into its parts."""
    parts = _SECTION.split(text)
    system, request, examples = "", "Task: $task$label_line\nWrite $what for this task.", []
    for kind, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip()
        if kind == "system":
            system = body
        elif kind == "request":
            request = body
        else:
            fields = {key.lower(): value.strip() for key, value in _FIELD.findall(body)}
            if fields.get("task") and fields.get("message"):
                examples.append(Example(fields["task"], fields.get("label", ""), fields["message"]))
    if not examples:
        raise ValueError("the generation template needs an '## example' with Task and Message")
    return CasePrompt(system, tuple(examples), string.Template(request))


def clean_message(text: str) -> str:
    """The message alone from a one-message reply ("" when nothing is left)."""
    lines = [line.strip() for line in text.replace("```", "\n").splitlines()]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        line = _PREFIX.sub("", line.strip(_QUOTES + " *")).strip(_QUOTES + " ")
        if _SIGN_OFF.match(line) or (_NOTE.match(line) and (paragraphs or current)):
            break
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if not any(p.match(line) for p in (_SUBJECT, _GREETING, _HEADER, _PLACEHOLDER_LINE)):
            current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    message = " ".join(paragraphs[:MAX_PARAGRAPHS])[:MAX_MESSAGE_CHARS]
    return _whole_sentences(" ".join(message.split()).strip(_QUOTES + " "))


def _whole_sentences(text: str) -> str:
    """``text`` without a last sentence cut off mid-way (when a whole one precedes it)."""
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    if not ends or ends[-1] == len(text) or len(text[: ends[-1]].split()) < 4:
        return text
    return text[: ends[-1]]
