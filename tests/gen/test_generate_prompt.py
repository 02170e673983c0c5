from collections.abc import Callable, Sequence

import pytest

from autotune.bench.benchmark import Benchmark
from autotune.bench.case import Case
from autotune.errors import DataError, UserInputError
from autotune.gen import GenerateSettings, RoundScore, generate_prompt
from autotune.gen._sections import SectionWriter, extract_section, missing_sections
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.meta.brief import TaskBrief
from autotune.meta.proposers import DEFAULT_PERSONA
from autotune.meta.sections import PromptSections
from autotune.metrics.base import MetricSet, WeightedMetric
from autotune.metrics.label import LabelMatch

INTENT = "a support bot for billing disputes"
PERSONA = "You are a patient billing support agent."
CONTEXT = "Customers write about charges they do not recognise."
STEPS = "1. Read the message.\n2. Find the charge.\n3. Explain the next step."
FORMAT = "A short, polite reply of at most five sentences."
EXAMPLES = "Input: I was charged twice.\nOutput: Sorry! I have refunded the second charge."


def draft(**drop: bool) -> str:
    parts = {"Persona": PERSONA, "Context": CONTEXT, "Steps": STEPS, "Format": FORMAT}
    parts["Examples"] = EXAMPLES
    return "\n\n".join(
        f"## {name}\n{'' if drop.get(name) else text}" for name, text in parts.items()
    )


def meta_llm(first: str, section: Callable[[str], str] = lambda request: "") -> ScriptedLLM:
    """Answers the generator with ``first`` and section requests with ``section(request)``."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        return section(text) if "section." in text.splitlines()[0] else first

    return ScriptedLLM(reply)


def section_requests(llm: ScriptedLLM) -> list[str]:
    texts = [messages[-1].content for messages, _ in llm.requests]
    return [text for text in texts if "section." in text.splitlines()[0]]


def test_a_complete_draft_needs_no_further_request() -> None:
    llm = meta_llm(draft())
    result = generate_prompt(INTENT, llm)
    assert llm.calls == 1 and result.meta_calls == 1
    assert result.sections == PromptSections(PERSONA, CONTEXT, STEPS, FORMAT, EXAMPLES)
    assert (result.regenerated, result.defaulted, result.missing) == ([], [], [])
    assert result.prompt.system == result.sections.render()
    assert f"Task: {INTENT}" in llm.requests[0][0][0].content  # the Prompt Generator's template
    data = result.to_dict()
    assert [data[k] for k in ("persona", "steps", "examples")] == [PERSONA, STEPS, EXAMPLES]
    assert data["score_history"] == [] and result.score is None
    assert result.to_markdown().startswith(f"## Persona\n{PERSONA}\n\n## Context\n")


def test_a_missing_section_is_asked_for_on_its_own() -> None:
    llm = meta_llm(draft(Steps=True), lambda request: f"## Steps\n{STEPS}")
    result = generate_prompt(INTENT, llm)
    requests = section_requests(llm)
    assert len(requests) == 1 and llm.calls == 2
    assert requests[0].startswith("You are an expert prompt engineer. The system prompt below")
    assert "lacks its Steps section" in requests[0] and "short numbered procedure" in requests[0]
    assert f"## Persona\n{PERSONA}" in requests[0]  # the prompt so far is shown
    assert result.sections.steps == STEPS and result.regenerated == ["steps"]
    assert result.missing == []


def test_an_empty_or_punctuation_only_section_counts_as_missing() -> None:
    text = draft().replace(FORMAT, "...").replace(EXAMPLES, "Three examples follow.")
    answers = {"Format": FORMAT, "Examples": EXAMPLES}

    def section(request: str) -> str:
        return next(answer for name, answer in answers.items() if f"its {name} section" in request)

    result = generate_prompt(INTENT, meta_llm(text, section))
    assert result.regenerated == ["format", "examples"]
    assert (result.sections.format, result.sections.examples) == (FORMAT, EXAMPLES)


def test_a_section_still_missing_after_the_attempts_is_reported_not_raised() -> None:
    llm = meta_llm(draft(Persona=True, Examples=True), lambda request: "Sure!")
    result = generate_prompt(INTENT, llm, settings=GenerateSettings(section_attempts=3))
    assert len(section_requests(llm)) == 6  # persona and examples, 3 attempts each
    assert [p.sample_index for _, p in llm.requests[1:]] == [0, 1, 2, 3, 4, 5]
    assert result.missing == ["examples"]
    assert result.defaulted == ["persona"] and result.sections.persona == DEFAULT_PERSONA
    assert result.to_dict()["missing_sections"] == ["examples"]


def test_an_unusable_draft_is_rebuilt_section_by_section() -> None:
    answers = {"Persona": PERSONA, "Context": CONTEXT, "Steps": STEPS, "Format": FORMAT}
    answers["Examples"] = EXAMPLES

    def section(request: str) -> str:
        return next(answer for name, answer in answers.items() if f"its {name} section" in request)

    result = generate_prompt(INTENT, meta_llm("```\n```", section))
    assert result.regenerated == ["persona", "context", "steps", "format", "examples"]
    assert result.sections == PromptSections(PERSONA, CONTEXT, STEPS, FORMAT, EXAMPLES)


def test_extract_section_handles_a_repeated_header_and_chatter() -> None:
    known = PromptSections(persona=PERSONA)
    assert extract_section("steps", f"```\n## Steps\n{STEPS}\n```", known) == STEPS
    assert extract_section("steps", "", known) == ""
    assert missing_sections(PromptSections(examples="Input: x")) == list(
        ("persona", "context", "steps", "format", "examples")
    )


def test_the_section_writer_is_a_proposer() -> None:
    writer = SectionWriter(meta_llm("", lambda request: STEPS), attempts=1)
    brief = TaskBrief(INTENT, "", ())
    proposal = writer.propose(brief, draft(Steps=True, Examples=True), (), 0)
    assert proposal.instruction is not None and STEPS in proposal.instruction
    assert (
        proposal.repaired == ["steps"] and proposal.rejected == "sections still missing: examples"
    )


WORDS = ["lovely", "awful", "great", "dull", "superb", "boring"]


def sentiment_bench(n: int = 6) -> Benchmark:
    cases = tuple(
        Case(f"c{i}", {"text": f"it was {WORDS[i]}"}, "positive" if i % 2 == 0 else "negative")
        for i in range(n)
    )
    return Benchmark(
        name="tiny",
        cases=cases,
        metrics=MetricSet([WeightedMetric(LabelMatch(["positive", "negative"]), 1.0)]),
        user_template="Review: {text}",
        description="Label movie reviews.",
        splits={"train": cases[:4], "validation": cases[4:], "test": ()},
        labels=("positive", "negative"),
    )


def task_llm() -> ScriptedLLM:
    """Right on every case only when the instruction says CAREFULLY; else always positive."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        if "CAREFULLY" in messages[0].content:
            return "negative" if any(w in text for w in ("awful", "dull", "boring")) else "positive"
        return "positive"

    return ScriptedLLM(reply)


def bench_meta(edit: str) -> ScriptedLLM:
    """Drafts a plain prompt; answers every section edit with ``edit``."""

    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        if messages[-1].content.startswith("You improve one part"):
            return edit
        return "## Persona\nA critic.\n\n## Context\nMovie reviews.\n\n## Steps\n1. Read it."

    return ScriptedLLM(reply)


def test_with_a_benchmark_the_search_edits_sections_and_keeps_the_best() -> None:
    rounds: list[RoundScore] = []
    meta, task = bench_meta("Read CAREFULLY, then answer positive or negative."), task_llm()
    result = generate_prompt(
        INTENT, meta, benchmark=sentiment_bench(), task_llm=task, rounds=4, on_round=rounds.append
    )
    history = [(e.round, e.origin, e.score, e.best, e.kept) for e in result.score_history]
    assert history[0] == (0, "draft", 0.5, 0.5, True)
    assert len(history) == 5 and rounds == result.score_history
    kept = [e for e in result.score_history if e.kept and e.round > 0]
    assert kept and kept[-1].score == 1.0 and kept[-1].origin.startswith("rewrite:")
    assert "CAREFULLY" in result.prompt.system and result.prompt.user_template == "Review: {text}"
    assert result.score == 1.0 and task.calls == result.task_calls
    # Format and Examples came from the benchmark, not from extra Meta-LLM requests; an
    # edited Format still names every label.
    assert all(label in result.sections.format for label in ("positive", "negative"))
    assert "Input: Review: it was lovely\nOutput: positive" in result.sections.examples
    assert result.defaulted == ["format", "examples"] and section_requests(meta) == []
    edit_request = next(m[-1].content for m, _ in meta.requests if "You improve" in m[-1].content)
    assert "it was" in edit_request  # the draft's failures reach the Meta-LLM


def test_an_edit_that_does_not_help_is_not_kept() -> None:
    meta = bench_meta("Say negative about positive reviews.")
    result = generate_prompt(
        INTENT, meta, benchmark=sentiment_bench(), task_llm=task_llm(), rounds=2
    )
    assert [e.kept for e in result.score_history] == [True, False, False]
    assert "Say negative" not in result.prompt.system and result.score == 0.5
    assert section_requests(meta) == []


def test_inputs_are_checked_before_any_call() -> None:
    llm = meta_llm(draft())
    with pytest.raises(UserInputError) as caught:
        generate_prompt("   ", llm)
    assert caught.value.field == "intent"
    with pytest.raises(UserInputError):
        generate_prompt(INTENT, llm, rounds=-1)
    bench = sentiment_bench()
    bench.splits = {"train": (), "validation": bench.cases, "test": ()}
    with pytest.raises(DataError, match="no training cases"):
        generate_prompt(INTENT, llm, benchmark=bench)
    assert llm.calls == 0
