"""The five sections of a generated system prompt, and a lenient parser for them.

Meta-LLMs (small ones above all) wrap answers in chatter, code fences and bold
headers, repeat lines, and drop sections. :func:`parse_sections` extracts what is
there; :func:`repair_sections` fills the sections that can be derived from the task
(Format from the benchmark's labels, Examples from training cases); an answer with no
usable instruction at all is rejected with a reason, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

SECTION_NAMES = ("persona", "context", "steps", "format", "examples")

# Header words a model may use for each section.
_ALIASES = {
    "persona": ("persona", "role", "identity"),
    "context": ("context", "background", "constraints", "task"),
    "steps": ("steps", "procedure", "instructions", "method", "chain of thought"),
    # Not bare "output": "Output: ..." lines belong to examples.
    "format": ("format", "output format", "answer format", "response format"),
    "examples": ("examples", "example", "few-shot examples", "demonstrations"),
}
_ALIAS_TO_SECTION = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_HEADER = re.compile(
    r"^\s*(?:#{1,6}\s*|\*\*\s*|\d+[.)]\s*)?"
    r"(?P<word>" + "|".join(sorted(map(re.escape, _ALIAS_TO_SECTION), key=len, reverse=True)) + r")"
    r"\s*(?:\*\*)?\s*:?\s*(?:\*\*)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*$")
_PREAMBLE = re.compile(r"^(sure|here is|here's|certainly|below is|okay|ok)\b.*$", re.IGNORECASE)

_BLANK_RUN = re.compile(r"\n\s*\n(\s*\n)+")

MIN_INSTRUCTION_WORDS = 4
MAX_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class PromptSections:
    """A system prompt in five parts; any part may be empty before repair."""

    persona: str = ""
    context: str = ""
    steps: str = ""
    format: str = ""
    examples: str = ""

    def missing(self) -> list[str]:
        """Names of the empty sections."""
        return [f.name for f in fields(self) if not getattr(self, f.name).strip()]

    def render(self) -> str:
        """The system prompt text, with ``## Section`` headers (which parse back)."""
        parts = []
        for name in SECTION_NAMES:
            text = getattr(self, name).strip()
            if text:
                parts.append(f"## {name.capitalize()}\n{text}")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class ParseOutcome:
    """The sections found, or why the answer was rejected."""

    sections: PromptSections | None
    rejected: str = ""

    @property
    def ok(self) -> bool:
        return self.sections is not None


def _clean_lines(text: str) -> list[str]:
    """Drop fences, chatty preambles and echoed lists of headers."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        stripped = line.strip()
        if _FENCE.match(stripped) or stripped in {"<<<", ">>>"} or stripped.count("##") >= 2:
            continue
        if not lines and _PREAMBLE.match(stripped):
            continue
        lines.append(line)
    return lines


def _header_section(line: str) -> tuple[str, str] | None:
    """(section, text after the header) when the line is a section header."""
    match = _HEADER.match(line)
    if match is None:
        return None
    rest = match.group("rest").strip()
    if "##" in rest or rest.startswith(","):
        rest = ""  # the model echoed the list of headers on one line
    stripped = line.strip()
    looks_like_header = stripped.startswith(("#", "**")) or ":" in stripped[:40] or not rest
    if not looks_like_header:
        return None
    return _ALIAS_TO_SECTION[match.group("word").lower()], rest


def parse_sections(text: str) -> ParseOutcome:
    """Extract the five sections from a Meta-LLM answer.

    Text before the first header, or an answer without headers, becomes Context.
    """
    if not text or not text.strip():
        return ParseOutcome(None, "empty answer")
    collected: dict[str, list[str]] = {name: [] for name in SECTION_NAMES}
    seen: set[str] = set()  # small models loop: keep the first copy of a line
    current = "context"
    for line in _clean_lines(text):
        header = _header_section(line)
        if header is not None:
            current, line = header
        key = line.strip().lower()
        if len(key) > 3 and key in seen:
            continue
        seen.add(key)
        if line.strip() or collected[current]:
            collected[current].append(line)
    texts = {
        name: _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip() for name, lines in collected.items()
    }
    sections = PromptSections(**texts)
    instruction = " ".join((sections.persona, sections.context, sections.steps))
    if len(re.findall(r"[A-Za-z]{2,}", instruction)) < MIN_INSTRUCTION_WORDS:
        return ParseOutcome(None, "no usable instruction (persona, context and steps empty)")
    if len(sections.render()) > MAX_PROMPT_CHARS:
        sections = _truncate(sections)
    return ParseOutcome(sections)


def _truncate(sections: PromptSections) -> PromptSections:
    """Cut every section to an equal share of the size limit (rambling answers)."""
    share = MAX_PROMPT_CHARS // len(SECTION_NAMES)
    return PromptSections(**{n: getattr(sections, n)[:share].strip() for n in SECTION_NAMES})


def repair_sections(
    sections: PromptSections, *, format_hint: str, examples: str, persona: str
) -> tuple[PromptSections, list[str]]:
    """Fill what can be derived from the task; return the repaired sections and what was fixed.

    The Format section must state the task's answer structure: when ``format_hint``
    names labels the model must use and the Format section does not mention them all,
    the hint is appended.
    """
    fixed: list[str] = []
    changes: dict[str, str] = {}
    if not sections.persona.strip():
        changes["persona"] = persona
        fixed.append("persona")
    if not sections.format.strip():
        changes["format"] = format_hint
        fixed.append("format")
    elif format_hint and not _mentions_all_quoted(sections.format, format_hint):
        changes["format"] = f"{sections.format.strip()}\n{format_hint}"
        fixed.append("format")
    if not _has_examples(sections.examples) and examples:
        changes["examples"] = examples
        fixed.append("examples")
    return replace(sections, **changes), fixed


def _mentions_all_quoted(text: str, hint: str) -> bool:
    """Whether ``text`` names every quoted word of ``hint`` (the allowed labels)."""
    labels = re.findall(r'"([^"]+)"', hint)
    lowered = text.lower()
    return all(label.lower() in lowered for label in labels)


def _has_examples(text: str) -> bool:
    return bool(re.search(r"input\s*:", text, re.IGNORECASE)) and bool(
        re.search(r"output\s*:", text, re.IGNORECASE)
    )
