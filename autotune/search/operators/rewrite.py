"""Reflective rewrite: the Meta-LLM rewrites one section from the parent's failures."""

from __future__ import annotations

from typing import ClassVar

from autotune.meta._render import show_value
from autotune.meta.section_edit import Mistake, SectionEditor, named_labels
from autotune.search.candidate import Candidate
from autotune.search.operators.base import BaseOperator, Child, OperatorContext

REWRITABLE = ("persona", "context", "steps", "format")


class RewriteSection(BaseOperator):
    """Asks the Meta-LLM for a new version of one section (see :class:`SectionEditor`).

    On a label task the Context is left to :class:`~autotune.search.operators.guide.
    LabelGuide`, a Format edit must name every label, and a missing Format is set from
    the task's answer form.
    """

    name: ClassVar[str] = "rewrite"
    # Three or four sections share one kind; drawn twice as often as a structural move
    # so each section's edit is still tried a few times in a 40-step search.
    prior: ClassVar[float] = 2.0

    def __init__(self, editor: SectionEditor) -> None:
        self.editor = editor

    def targets(self, parent: Candidate, context: OperatorContext) -> list[str]:
        labelled = bool(context.space.labels)
        return [part for part in REWRITABLE if not (labelled and part == "context")]

    def apply(self, parent: Candidate, target: str, context: OperatorContext) -> Child:
        space = context.space
        current = parent.parts.section(target)
        if target == "format" and space.labels and not current.strip():
            # The answer's form comes from the task; no Meta-LLM is needed to state it.
            parts = parent.parts.with_(format=space.brief.format_hint)
            return Child(parts, (parent.number,), note=f"format: {space.brief.format_hint}")
        result = self.editor.edit(
            target,
            current,
            parent_mistakes(parent, context),
            space.brief,
            context.sample_index,
            space.labels,
        )
        child = Child(None, (parent.number,), raw=result.raw, calls=result.calls)
        if result.text is None:
            child.note = f"edit rejected: {result.rejected}"
            return child
        if target == "format" and not _names_all(result.text, space.labels):
            child.note = "edit rejected: the Format does not name every label"
            return child
        child.parts = parent.parts.with_(**{target: result.text})
        child.note = f"{target}: {result.text}"
        return child


def parent_mistakes(parent: Candidate, context: OperatorContext) -> list[Mistake]:
    """The parent's failures (shuffled per step, so edits see different ones)."""
    feedback = list(parent.feedback)
    context.rng.shuffle(feedback)
    mistakes = []
    for item in feedback:
        case = context.space.case(item.case_id)
        if case is None:
            continue
        shown = " ".join(str(v) for v in case.inputs.values())
        mistakes.append(Mistake(shown, item.output, show_value(case.expected), item.reason))
    return mistakes


def _names_all(text: str, labels: tuple[str, ...]) -> bool:
    # Whole words, as the gates read labels: "negatively" does not name "negative".
    return len(named_labels(text, labels)) == len(labels)
