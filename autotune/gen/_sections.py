"""Complete a five-section prompt: regenerate each missing or empty section on its own.

A Meta-LLM (a small one above all) often drops a section or leaves it empty. Rather
than redrafting the whole prompt, :class:`SectionWriter` asks for just the missing
section with a small focused template (``section.md``), a bounded number of times.
Sections a benchmark can supply (Examples from training cases, Format from the labels)
are filled from it instead; whatever is still missing is reported, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from autotune.evaluate.results import CaseResult
from autotune.meta._render import examples_block, render_template
from autotune.meta.brief import TaskBrief
from autotune.meta.proposers import DEFAULT_PERSONA, BaseProposer, Proposal
from autotune.meta.sections import SECTION_NAMES, PromptSections, parse_sections, repair_sections

GUIDANCE = {
    "persona": "one sentence naming the specific expert the model should be.",
    "context": "the constraints and background the model needs for this task.",
    "steps": "a short numbered procedure the model follows to reach the answer.",
    "format": "the exact structure of the model's reply.",
    "examples": 'three examples, each written as "Input: ..." followed by "Output: ...".',
}
MIN_SECTION_WORDS = 2
_EXAMPLE_INPUT = re.compile(r"\binput\s*:", re.IGNORECASE)
_EXAMPLE_OUTPUT = re.compile(r"\boutput\s*:", re.IGNORECASE)


def section_present(name: str, text: str) -> bool:
    """Whether a section has content: two real words (a lone "Sure!" or "..." is not
    content); Examples also need an Input/Output pair."""
    if len(re.findall(r"[A-Za-z]+", text)) < MIN_SECTION_WORDS:
        return False
    if name == "examples":
        return bool(_EXAMPLE_INPUT.search(text) and _EXAMPLE_OUTPUT.search(text))
    return True


def missing_sections(sections: PromptSections) -> list[str]:
    """The sections without content, in prompt order."""
    return [name for name in SECTION_NAMES if not section_present(name, getattr(sections, name))]


def derivable_sections(brief: TaskBrief) -> set[str]:
    """Sections the benchmark supplies: Examples and Format when there are training cases."""
    return {"examples", "format"} if brief.train_cases else set()


@dataclass
class CompletedSections:
    """A prompt's sections after completion and what happened to each.

    Attributes:
        sections: The final sections.
        regenerated: Sections the Meta-LLM wrote on a focused request.
        defaulted: Sections filled from the task (default persona, format hint, cases).
        missing: Sections still empty after every attempt.
        calls: Meta-LLM calls spent on sections.
    """

    sections: PromptSections
    regenerated: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    calls: int = 0


class SectionWriter(BaseProposer):
    """Fills the missing sections of a prompt, one focused Meta-LLM request each.

    ``attempts`` bounds the requests per section. As a proposer it turns ``current``
    (any prompt text) into the same prompt with its missing sections written.
    """

    name = "sections"

    def propose(
        self,
        brief: TaskBrief,
        current: str,
        failures: Sequence[CaseResult],
        sample_index: int,
    ) -> Proposal:
        completed = self.complete_text(current, brief)
        proposal = Proposal(origin=self.name, calls=completed.calls, raw=current)
        proposal.instruction = completed.sections.render()
        proposal.repaired = completed.regenerated + completed.defaulted
        if completed.missing:
            proposal.rejected = f"sections still missing: {', '.join(completed.missing)}"
        return proposal

    def complete_text(self, text: str, brief: TaskBrief) -> CompletedSections:
        """Parse a Meta-LLM answer (an unusable one counts as empty) and complete it."""
        parsed = parse_sections(text).sections or PromptSections()
        return self.complete(parsed, brief)

    def complete(self, sections: PromptSections, brief: TaskBrief) -> CompletedSections:
        """Regenerate missing sections, then fill the derivable ones from the task."""
        result = CompletedSections(sections)
        skip = derivable_sections(brief)
        for name in missing_sections(sections):
            if name in skip:
                continue
            text = self._write(name, result, brief)
            if text:
                result.sections = replace(result.sections, **{name: text})
                result.regenerated.append(name)
        self._repair(result, brief)
        return result

    def _write(self, name: str, result: CompletedSections, brief: TaskBrief) -> str:
        """Ask for one section up to ``attempts`` times; "" when every answer lacks it."""
        request = render_template(
            "section.md",
            title=name.capitalize(),
            task=brief.description,
            prompt=result.sections.render() or "(nothing yet)",
            guidance=GUIDANCE[name],
        )
        for _ in range(self.attempts):
            proposal = Proposal(origin=self.name)
            answer = self._ask(request, result.calls, proposal)
            result.calls += proposal.calls
            text = extract_section(name, answer, result.sections)
            if section_present(name, text):
                return text
        return ""

    def _repair(self, result: CompletedSections, brief: TaskBrief) -> None:
        before = missing_sections(result.sections)
        repaired, _ = repair_sections(
            result.sections,
            format_hint=brief.format_hint,
            examples=examples_block(brief.train_cases[:3], brief.user_template),
            persona=DEFAULT_PERSONA,
        )
        result.sections = repaired
        result.missing = missing_sections(repaired)
        result.defaulted = [name for name in before if name not in result.missing]


def extract_section(name: str, answer: str, context: PromptSections) -> str:
    """The ``name`` section of an answer that should hold just that section.

    The answer is parsed after the known sections under its own header, so a repeated
    header, chatter or code fences are handled by the one lenient section parser.
    """
    if not answer.strip():
        return ""
    known = replace(context, **{name: ""}).render()
    outcome = parse_sections(f"{known}\n\n## {name.capitalize()}\n{answer}")
    return getattr(outcome.sections, name).strip() if outcome.sections else ""
