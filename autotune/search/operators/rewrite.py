"""Reflective rewrite: the Meta-LLM rewrites one section from the parent's failures."""

from __future__ import annotations

from typing import ClassVar

from autotune.meta._render import show_value
from autotune.meta.section_edit import (
    Mistake,
    SectionEditor,
    guide_prefix,
    named_labels,
    without_guide,
)
from autotune.search.candidate import Candidate
from autotune.search.operators.base import BaseOperator, Child, OperatorContext

REWRITABLE = ("persona", "context", "steps", "format")


class RewriteSection(BaseOperator):
    """Asks the Meta-LLM for a new version of one section (see :class:`SectionEditor`).

    For a label task, the first Context edit adds a guide: one sentence per label saying
    what its texts are about; later ones rewrite the sentence of the label the parent
    misses most, keeping the rest. A Format edit must name every label, and a missing
    Format is set from the task's answer form.
    """

    name: ClassVar[str] = "rewrite"
    # Four sections share one kind; drawn twice as often as a structural move so each
    # section's edit is still tried a few times in a 40-step search.
    prior: ClassVar[float] = 2.0

    def __init__(self, editor: SectionEditor) -> None:
        self.editor = editor

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        return list(REWRITABLE)

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        space = context.space
        mistakes = self._mistakes(parent, context)
        current = parent.parts.section(target)
        if target == "format" and space.labels and not current.strip():
            # The answer's form comes from the task; no Meta-LLM is needed to state it.
            parts = parent.parts.with_(format=space.brief.format_hint)
            return Child(parts, (parent.number,), note=f"format: {space.brief.format_hint}")
        guide = target == "context" and space.labels and not _has_guide(current, space.labels)
        if guide:
            result = self.editor.label_guide(
                space.labels, mistakes, space.brief, context.sample_index
            )
        else:
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
        if guide:
            text = f"{current.strip()} {result.text}".strip()
        elif target == "context" and result.label is not None:
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
    # Whole words, as the gates read labels: "negatively" does not name "negative".
    return len(named_labels(text, labels)) == len(labels)


def _has_guide(context: str, labels: tuple[str, ...]) -> bool:
    """Whether ``context`` already says what the texts of some label are about."""
    return any(guide_prefix(label) in context for label in labels)


def _with_label_sentence(context: str, label: str, sentence: str) -> str:
    """``context`` with its sentence about ``label`` replaced by ``sentence`` (or added)."""
    kept = without_guide(context, [label])
    return f"{kept} {sentence}" if kept else sentence
