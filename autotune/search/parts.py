"""A candidate prompt as parts the search can change one at a time: :class:`PromptParts`.

The system text is kept as named sections (Persona, Context, Steps, Format and a textual
Examples block); the few-shot demos, the user-message framing and where the instruction
sits are parts of their own. An operator changes one part; :meth:`PromptParts.to_prompt`
renders the whole into the :class:`~autotune.prompt.Prompt` the evaluator runs.

Sections render without headers: a winner should read like a prompt a person would
deploy. One-line sections are joined by a space (so a one-line seed renders exactly as
written), others as paragraphs.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from autotune.meta.sections import parse_sections
from autotune.prompt import Demo, InstructionPosition, Prompt

SectionName = Literal["persona", "context", "steps", "format", "examples"]
SECTIONS: tuple[SectionName, ...] = ("persona", "context", "steps", "format", "examples")
PartName = Literal["persona", "context", "steps", "format", "examples", "demos", "framing"]
PARTS: tuple[str, ...] = (*SECTIONS, "demos", "framing", "position", "calibration")

_HEADER = re.compile(r"^\s*#{1,6}\s*\w+", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_FORMAT_CUE = re.compile(
    r"\b(answer|respond|reply|output|return|format|one word|only with|label it)\b", re.IGNORECASE
)
_PERSONA_CUE = re.compile(r"^\s*(you are|act as|as an? )\b", re.IGNORECASE)
_STEP_LINE = re.compile(r"^\s*(\d+[.)]|[-*])\s+")


@dataclass(frozen=True)
class PromptParts:
    """Everything a candidate prompt is made of, part by part (immutable, hashable)."""

    persona: str = ""
    context: str = ""
    steps: str = ""
    format: str = ""
    examples: str = ""
    demos: tuple[Demo, ...] = ()
    user_template: str = "{input}"
    position: InstructionPosition = "system"
    answer_strategy: str = "direct"
    temperature: float = 0.0
    calibration: tuple[tuple[str, float], ...] = ()

    def section(self, name: str) -> str:
        """The text of one section (``""`` when empty)."""
        if name not in SECTIONS:
            raise KeyError(name)
        text: str = getattr(self, name)
        return text

    def with_(self, **changes: Any) -> PromptParts:
        """A copy with some parts changed."""
        return dataclasses.replace(self, **changes)

    def present(self) -> list[str]:
        """The parts a drop could remove: non-empty sections, the demos and the
        calibration if any."""
        found: list[str] = [name for name in SECTIONS if self.section(name).strip()]
        found += ["demos"] if self.demos else []
        return [*found, "calibration"] if self.calibration else found

    def system_text(self) -> str:
        """The sections as the prompt's instruction, in a fixed order."""
        texts = [t.strip() for t in (self.section(n) for n in SECTIONS) if t.strip()]
        joiner = "\n\n" if any("\n" in text for text in texts) else " "
        return joiner.join(texts)

    def to_prompt(self, name: str = "") -> Prompt:
        return Prompt(
            system=self.system_text(),
            user_template=self.user_template,
            demos=self.demos,
            answer_strategy=self.answer_strategy,
            instruction_position=self.position,
            temperature=self.temperature,
            calibration=self.calibration,
            name=name,
        )

    def fingerprint(self) -> str:
        """Identifies what the model sees (two candidates with one fingerprint are one)."""
        return self.to_prompt().fingerprint()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["demos"] = [{"inputs": d.input_dict(), "output": d.output} for d in self.demos]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptParts:
        values = dict(data)
        values["demos"] = tuple(Demo.of(d["inputs"], str(d["output"])) for d in data["demos"])
        values["calibration"] = tuple((str(k), float(v)) for k, v in data.get("calibration", ()))
        return cls(**values)

    @classmethod
    def from_prompt(cls, prompt: Prompt) -> PromptParts:
        """Split a prompt's instruction into sections (see :func:`split_sections`).

        When the sections would not render back to the very same text, the whole
        instruction stays one Context section: the seed is scored exactly as written.
        """
        sections: dict[str, Any] = split_sections(prompt.system)
        if PromptParts(**sections).system_text() != prompt.system.strip():
            sections = {"context": prompt.system.strip()}
        return cls(
            **sections,
            demos=prompt.demos,
            user_template=prompt.user_template,
            position=prompt.instruction_position,
            answer_strategy=prompt.answer_strategy,
            temperature=prompt.temperature or 0.0,
            calibration=prompt.calibration,
        )


def split_sections(text: str) -> dict[str, str]:
    """The sections of an instruction.

    Text with ``## Section`` headers is parsed as the Meta-LLM writes it. Plain text (a
    user's seed) is split by sentence: "You are ..." is the Persona, sentences about the
    answer's form are the Format, numbered or bulleted lines are Steps, the rest Context.
    """
    if _HEADER.search(text):
        outcome = parse_sections(text)
        if outcome.sections is not None:
            return {name: getattr(outcome.sections, name) for name in SECTIONS}
    found: dict[str, list[str]] = {name: [] for name in SECTIONS}
    for line in text.strip().splitlines():
        if _STEP_LINE.match(line):
            found["steps"].append(line.strip())
            continue
        for sentence in _SENTENCE.split(line.strip()):
            if not sentence:
                continue
            if _PERSONA_CUE.match(sentence) and not found["context"]:
                found["persona"].append(sentence)
            elif _FORMAT_CUE.search(sentence):
                found["format"].append(sentence)
            else:
                found["context"].append(sentence)
    joiner = {"steps": "\n"}
    return {name: joiner.get(name, " ").join(parts) for name, parts in found.items()}
