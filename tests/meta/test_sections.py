"""Parsing and repairing Meta-LLM answers into the five prompt sections."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autotune.meta.sections import (
    MAX_PROMPT_CHARS,
    PromptSections,
    parse_sections,
    repair_sections,
)

HINT = 'Answer with exactly one word, "positive" or "negative", and nothing else.'


def test_well_formed_answer_round_trips() -> None:
    sections = PromptSections(
        persona="You are a film critic.",
        context="Reviews are short.",
        steps="1. Read.\n2. Decide.",
        format=HINT,
        examples="Input: fun\nOutput: positive",
    )
    parsed = parse_sections(sections.render())
    assert parsed.sections == sections


def test_chatty_bold_headers_fences_and_repeats_are_tolerated() -> None:
    answer = (
        "Sure! Here is the prompt:\n```markdown\n**Persona:** A seasoned film critic.\n"
        "**Context:** Short reviews.\nShort reviews.\nShort reviews.\n"
        "Steps: 1. Read the review 2. Decide\n**Output format:** one word\n```\n"
    )
    parsed = parse_sections(answer)
    assert parsed.sections is not None
    assert parsed.sections.persona == "A seasoned film critic."
    assert parsed.sections.context == "Short reviews."  # repeats dropped
    assert parsed.sections.steps.startswith("1. Read")
    assert parsed.sections.format == "one word"


def test_answer_without_headers_becomes_context() -> None:
    parsed = parse_sections("Decide whether the review is positive or negative overall.")
    assert parsed.sections is not None
    assert parsed.sections.context.startswith("Decide whether")
    assert parsed.sections.missing() == ["persona", "steps", "format", "examples"]


def test_headers_echoed_on_one_line_are_not_content() -> None:
    parsed = parse_sections(
        "## Persona\n, ## Context, ## Steps\nA critic who reads reviews closely."
    )
    assert parsed.sections is not None
    assert "##" not in parsed.sections.persona
    assert parsed.sections.persona == "A critic who reads reviews closely."


def test_empty_or_wordless_answers_are_rejected_with_a_reason() -> None:
    for answer in ("", "   ", "## Persona\n## Context\n", "1. 2. 3. !!!"):
        outcome = parse_sections(answer)
        assert outcome.sections is None
        assert outcome.rejected


def test_repair_fills_format_examples_and_persona() -> None:
    sections = PromptSections(context="Judge the review.")
    repaired, fixed = repair_sections(
        sections, format_hint=HINT, examples="Input: a\nOutput: positive", persona="An expert."
    )
    assert fixed == ["persona", "format", "examples"]
    assert repaired.format == HINT
    assert repaired.persona == "An expert."
    assert repaired.missing() == ["steps"]


def test_repair_appends_labels_a_format_forgot() -> None:
    sections = PromptSections(persona="p", context="c", format="Reply briefly.")
    repaired, fixed = repair_sections(sections, format_hint=HINT, examples="", persona="x")
    assert "format" in fixed
    assert repaired.format.startswith("Reply briefly.")
    assert '"positive"' in repaired.format


def test_format_naming_every_label_is_left_alone() -> None:
    sections = PromptSections(persona="p", context="c", format="Say Positive or Negative.")
    repaired, fixed = repair_sections(sections, format_hint=HINT, examples="", persona="x")
    assert "format" not in fixed
    assert repaired.format == "Say Positive or Negative."


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_garbage_never_raises_and_accepted_prompts_are_bounded(text: str) -> None:
    outcome = parse_sections(text)
    if outcome.sections is None:
        assert outcome.rejected
    else:
        assert len(outcome.sections.render()) <= MAX_PROMPT_CHARS + 200


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["## Persona", "**Steps:**", "Format:", "```", "word " * 3, "\n"])))
def test_header_soup_never_raises(parts: list[str]) -> None:
    outcome = parse_sections("\n".join(parts))
    assert outcome.ok == (outcome.sections is not None)
