"""Reflective rewrite: the Meta-LLM rewrites one section from the parent's failures."""

from __future__ import annotations

import re
from typing import ClassVar

from autotune.meta._render import show_value
from autotune.meta.section_edit import Mistake, SectionEditor
from autotune.search.candidate import Candidate
from autotune.search.operators.base import BaseOperator, Child, OperatorContext

REWRITABLE = ("persona", "context", "steps", "format")


class RewriteSection(BaseOperator):
    """Asks the Meta-LLM for a new version of one section (see :class:`SectionEditor`).

    For a label task, a Context edit adds (or replaces) one sentence saying what texts of
    the label the parent misses most are about, keeping the rest of the Context; a
    Format edit must name every label.
    """

    name: ClassVar[str] = "rewrite"

    def __init__(self, editor: SectionEditor) -> None:
        self.editor = editor

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return list(REWRITABLE)

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        space = context.space
        mistakes = self._mistakes(parent, context)
        current = parent.parts.section(target)
        result = self.editor.edit(
            target, current, mistakes, space.brief, context.sample_index, space.labels
        )
        child = Child(None, (parent.number,), raw=result.raw, calls=result.calls)
        if result.text is None:
            child.note = f"edit rejected: {result.rejected}"
            return child
        if target == "format" and not _names_all(result.text, space.labels):
            child.note = "edit rejected: the Format does not name every label"
            return child
        text = result.text
        if target == "context" and result.label is not None:
            text = _with_label_sentence(current, result.label, result.text)
        child.parts = parent.parts.with_(**{target: text})
        child.note = f"{target}: {result.text}"
        return child

    def _mistakes(self, parent: Candidate, context: OperatorContext) -> list[Mistake]:
        """The parent's failures (shuffled per step, so edits see different ones)."""
        feedback = list(parent.feedback)
        context.rng.shuffle(feedback)
        mistakes = []
        for item in feedback:
            case = context.space.case(item.case_id)
            if case is None:
                continue
            shown = " ".join(str(v) for v in case.inputs.values())
            expected = show_value(case.expected)
            mistakes.append(Mistake(shown, item.output, expected, item.reason))
        return mistakes


def _names_all(text: str, labels: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return all(label.lower() in lowered for label in labels)


def _with_label_sentence(context: str, label: str, sentence: str) -> str:
    """``context`` with its sentence about ``label`` replaced by ``sentence`` (or added)."""
    start = f"{label} texts are about"
    kept = [s for s in re.split(r"(?<=[.!?])\s+", context.strip()) if s and not s.startswith(start)]
    return " ".join([*kept, sentence])
