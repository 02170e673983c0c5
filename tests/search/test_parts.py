"""Prompt parts: a seed splits into sections and renders back exactly as written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autotune.prompt import Demo, Prompt
from autotune.search.parts import PromptParts, split_sections

SEED = (
    "Classify the sentiment of the movie review. "
    "Answer with exactly one word: positive or negative."
)


def test_a_one_line_seed_splits_into_context_and_format_and_renders_back() -> None:
    parts = PromptParts.from_prompt(Prompt(system=SEED, user_template="{text}"))
    assert parts.context == "Classify the sentiment of the movie review."
    assert parts.format == "Answer with exactly one word: positive or negative."
    assert parts.to_prompt().system == SEED
    assert parts.present() == ["context", "format"]


def test_persona_and_steps_are_recognised() -> None:
    sections = split_sections("You are a film critic. Judge the review.\n1. Read it.\n2. Decide.")
    assert sections["persona"] == "You are a film critic."
    assert sections["context"] == "Judge the review."
    assert sections["steps"] == "1. Read it.\n2. Decide."


@given(st.text(min_size=1, max_size=200))
def test_any_seed_is_scored_exactly_as_written(text: str) -> None:
    prompt = Prompt(system=text.strip() or "x", user_template="{text}")
    assert PromptParts.from_prompt(prompt).to_prompt().system == prompt.system


def test_parts_survive_their_record_form() -> None:
    parts = PromptParts(
        persona="You are careful.",
        steps="1. Read.\n2. Decide.",
        demos=(Demo.of({"text": "fine"}, "positive"),),
        user_template="Input: {text}\nAnswer:",
        position="user",
    )
    assert PromptParts.from_dict(parts.to_dict()) == parts
    assert parts.to_prompt().system == "You are careful.\n\n1. Read.\n2. Decide."
    assert "demos" in parts.present()
