"""Section edits: shaped by a grammar, parsed leniently, gated, never raising."""

from __future__ import annotations

import json
from collections.abc import Sequence

from autotune.bench.case import Case
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta.brief import TaskBrief
from autotune.meta.section_edit import (
    Mistake,
    SectionEditor,
    alluded_labels,
    has_guide,
    label_to_describe,
    parse_edit,
    without_guide,
)

BRIEF = TaskBrief(
    description="Decide whether a movie review is positive or negative.",
    format_hint='Answer with exactly one word, "positive" or "negative", and nothing else.',
    train_cases=(Case("t1", {"text": "a dull, plodding film"}, "negative"),),
    user_template="{text}",
)
MISTAKES = [
    Mistake("a tedious mess of a movie", "positive", "negative", "answered 'positive'"),
    Mistake("boring and far too long", "positive", "negative", "answered 'positive'"),
]


def test_parse_takes_json_free_text_or_grammar_shaped_answers() -> None:
    assert parse_edit('{"text": "a careful critic."}', "You are ") == "You are a careful critic."
    assert (
        parse_edit("You are a critic.\n\nSure, anything else?", "You are ") == "You are a critic."
    )
    assert parse_edit("", "You are ") is None
    assert parse_edit('{"other": 1}', "") is None


def test_a_label_task_context_edit_describes_the_most_missed_label() -> None:
    requests: list[Sequence[Message]] = []
    grammars: list[str | None] = []

    def answer(messages: Sequence[Message], params: SamplingParams) -> str:
        requests.append(messages)
        grammars.append(params.grammar)
        return "negative texts are about tedious and boring films."

    editor = SectionEditor(ScriptedLLM(answer))
    result = editor.edit("context", "", MISTAKES, BRIEF, 0, labels=("positive", "negative"))
    assert (
        result.text == "negative texts are about tedious and boring films."
        and result.label == "negative"
    )
    asked = requests[0][-1].content
    assert 'labelled "negative"' in asked and "a tedious mess of a movie" in asked
    assert grammars[0] is not None and grammars[0].startswith(
        'root ::= "negative texts are about "'
    )
    assert label_to_describe(MISTAKES, ("positive", "negative"), 0) == "negative"


def test_a_generic_edit_shows_the_failures_and_sends_a_schema() -> None:
    seen: list[SamplingParams] = []

    def answer(messages: Sequence[Message], params: SamplingParams) -> str:
        seen.append(params)
        assert "The model answered: positive" in messages[-1].content
        return '{"text": "a film critic who reads reviews closely."}'

    result = SectionEditor(ScriptedLLM(answer)).edit("persona", "", MISTAKES, BRIEF, 3)
    assert result.text == "You are a film critic who reads reviews closely."
    assert json.loads(seen[0].response_schema or "{}")["required"] == ["text"]
    assert seen[0].sample_index == 3


def test_chatter_is_rejected_with_its_reason() -> None:
    editor = SectionEditor(ScriptedLLM(["Sure! I hope this helps with your prompt."]))
    result = editor.edit("steps", "", MISTAKES, BRIEF, 0)
    assert result.text is None and result.rejected.startswith("chat debris")
    assert result.raw.startswith("Sure")


def test_a_label_guide_has_one_gated_sentence_per_label() -> None:
    answers = iter(
        [
            "positive texts are about movies people loved.",
            "Sure! I hope this helps.",  # debris: the label is asked again
            "negative texts are about dull, tedious films.",
        ]
    )
    editor = SectionEditor(ScriptedLLM(lambda messages, params: next(answers)))
    result = editor.label_guide(("positive", "negative"), MISTAKES, BRIEF, 0)
    assert result.text == (
        "positive texts are about movies people loved. "
        "negative texts are about dull, tedious films."
    )
    assert result.calls == 3


def test_a_label_guide_with_a_label_that_keeps_failing_is_rejected() -> None:
    editor = SectionEditor(ScriptedLLM(["Sure! I hope this helps."]))
    result = editor.label_guide(("positive", "negative"), MISTAKES, BRIEF, 0)
    assert result.text is None and result.rejected.startswith("the sentence about 'positive'")
    assert result.calls == 2


def test_a_label_described_by_another_label_is_rejected_and_asked_again() -> None:
    labels = ("World", "Sports", "Business", "Sci/Tech")
    answers = iter(
        [
            "World texts are about news from other countries.",
            "Sports texts are about news of games and teams.",
            "Business texts are about news of companies and markets.",
            "Sci/Tech texts are about sports, entertainment and gaming news.",  # names "Sports"
            "Sci/Tech texts are about news of software and science.",
        ]
    )
    editor = SectionEditor(ScriptedLLM(lambda messages, params: next(answers)))
    brief = TaskBrief(
        description="Decide the topic of a news article: World, Sports, Business or Sci/Tech.",
        format_hint="Answer with one word.",
        train_cases=(),
        user_template="{text}",
    )
    result = editor.label_guide(labels, [], brief, 0)
    assert result.text is not None
    assert "sports, entertainment" not in result.text
    assert result.text.endswith("Sci/Tech texts are about news of software and science.")
    assert result.calls == 5


def test_steps_naming_only_some_labels_are_rejected_as_biased() -> None:
    """The quickstart once kept "3. The model should answer the question with a label
    of negative." (its winner then leaned to that label)."""
    labels = ("positive", "negative")
    biased = "1. Read the review.\n2. Answer the movie review with a label of negative."
    fair = "1. Read the movie review.\n2. Answer positive or negative."
    editor = SectionEditor(ScriptedLLM([biased]))
    result = editor.edit("steps", "", MISTAKES, BRIEF, 0, labels)
    assert result.text is None and result.rejected == "names only some labels (negative)"
    assert SectionEditor(ScriptedLLM([fair])).edit("steps", "", MISTAKES, BRIEF, 0, labels).text


def test_a_step_that_alludes_to_one_label_is_rejected_as_biased() -> None:
    """AG News once kept "3. The right answer is Science/Tech.": not the label's exact
    spelling, but a verdict for it all the same."""
    labels = ("World", "Sports", "Business", "Sci/Tech")
    verdict = "1. Read the news article.\n2. The right answer is Science/Tech."
    result = SectionEditor(ScriptedLLM([verdict])).edit("steps", "", MISTAKES, BRIEF, 0, labels)
    assert result.text is None and result.rejected == "names only some labels (Sci/Tech)"
    assert alluded_labels("Sports and business news of the world, science too", labels) == [
        "World", "Sports", "Business", "Sci/Tech"
    ]  # fmt: skip
    assert alluded_labels("Read the whole story, then decide.", labels) == []


def test_a_guide_with_label_words_is_held_to_a_choice_among_them() -> None:
    """The grammar lists only the label's words; the ask shows them; a word the weak
    Meta-LLM repeats is dropped rather than failing the guide."""
    grammars: list[str] = []
    asks: list[str] = []

    def answer(messages: Sequence[Message], params: SamplingParams) -> str:
        grammars.append(params.grammar or "")
        asks.append(messages[-1].content)
        return "negative texts are about dull, tedious, dull, boring."

    brief = TaskBrief(
        BRIEF.description,
        BRIEF.format_hint,
        BRIEF.train_cases,
        "{text}",
        {"negative": ("dull", "tedious", "boring"), "positive": ("fun", "moving")},
    )
    result = SectionEditor(ScriptedLLM(answer)).edit(
        "context", "", MISTAKES, brief, 0, labels=("positive", "negative")
    )
    assert result.text == "negative texts are about dull, tedious, boring."
    assert 'kw ::= "dull" | "tedious" | "boring"' in grammars[0]
    assert 'root ::= "negative texts are about " kw' in grammars[0]
    assert "dull, tedious, boring" in asks[0]
    # Too few words for a choice ("positive" has two): the free sentence shape is kept.
    SectionEditor(ScriptedLLM(answer)).edit("context", "", [], brief, 0, labels=("positive",))
    assert "kw ::=" not in grammars[1]


def test_a_guide_is_found_and_removed_by_its_sentences_alone() -> None:
    labels = ("positive", "negative")
    plain = "Classify the review.\nAnswer with one word."
    assert not has_guide(plain, labels)  # a line break is no guide (ablation skips it)
    guided = plain + " negative texts are about dull, boring."
    assert has_guide(guided, labels)
    assert without_guide(guided, labels) == "Classify the review. Answer with one word."
    assert not has_guide("Say what negative texts are about first.", labels)
