import pytest
from gen_doubles import capable, generation_requests, review_requests, synth_llm

from autotune.errors import LLMError, UserInputError
from autotune.gen import SynthSettings, synthesize_cases
from autotune.gen._dedup import similarity
from autotune.gen._synth_checks import CHATTER, DEBRIS, TOO_SHORT
from autotune.gen.synth import (
    JUDGE_REJECTED,
    JUDGE_UNPARSEABLE,
    NEAR_DUPLICATE,
    REPEATS_DEMO,
    UNREVIEWED,
)
from autotune.llm.fake import ScriptedLLM

TASK = "customer support emails about billing disputes"
FIRST = "I was charged twice for my subscription this month"
REWORDED = "I was charged two times for my subscription this month"
OTHER = "Why does my invoice show a setup fee I never agreed to?"
THIRD = "Where can I download last year's receipts for my account?"


@pytest.mark.parametrize(("offset", "duplicate"), [(-0.001, True), (0.001, False)])
def test_near_duplicates_are_discarded_only_above_the_threshold(
    offset: float, duplicate: bool
) -> None:
    score = similarity(REWORDED, FIRST)
    assert 0.3 < score < 0.99
    llm = synth_llm([FIRST, REWORDED, OTHER])
    settings = SynthSettings(threshold=score + offset, review=False)
    report = synthesize_cases(TASK, llm, 2, settings=settings)
    assert [case.input for case in report.cases] == [FIRST, OTHER if duplicate else REWORDED]
    assert report.reasons() == ({NEAR_DUPLICATE: 1} if duplicate else {})
    if duplicate:
        assert report.discarded[0].detail.startswith(f"{score:.2f} similar to 'I was charged")


def test_each_call_asks_for_one_message_in_a_few_shot_conversation() -> None:
    llm = synth_llm([f'Message: "{FIRST}."\n\nNote: I kept it short.'])
    report = synthesize_cases(TASK, llm, 1, settings=SynthSettings(review=False))
    assert [case.input for case in report.cases] == [f"{FIRST}."]
    messages, params = generation_requests(llm)[0]
    roles = [message.role for message in messages]
    assert roles[0] == "system" and roles[-1] == "user" and roles.count("assistant") >= 1
    assert messages[-1].content == f"Task: {TASK}\nWrite one message for this task."
    assert (params.temperature, params.max_tokens) == (0.9, SynthSettings().max_tokens)


def test_replacements_stop_at_the_call_budget_and_say_so() -> None:
    llm = synth_llm([FIRST])  # every call repeats the same case
    report = synthesize_cases(TASK, llm, 3, settings=SynthSettings(max_calls=5, review=False))
    assert llm.calls == 5 and report.calls == 5 and report.generation_calls == 5
    assert report.kept == 1 and not report.complete
    assert report.reasons() == {NEAR_DUPLICATE: 4}
    assert report.stopped == "budget: all 5 model calls used"
    assert "kept 1 of 3" in report.summary() and "near-duplicate: 4" in report.summary()
    samples = [params.sample_index for _, params in generation_requests(llm)]
    assert samples == [0, 1, 2, 3, 4]  # each call asks for a new sample


def test_local_checks_discard_debris_short_and_chatter_with_counted_reasons() -> None:
    replies = [
        "| Test Input 1 | Test Input 2 |",
        "| 1| 2| 4| 6|",
        "Fix my bill",
        "Sure, here are the emails you asked for.",
        "As an AI, I cannot write customer emails.",
        FIRST,
        OTHER,
    ]
    llm = synth_llm(replies)
    report = synthesize_cases(TASK, llm, 2)
    assert [case.input for case in report.cases] == [FIRST, OTHER]
    assert report.reasons() == {DEBRIS: 2, CHATTER: 2, TOO_SHORT: 1}
    assert report.reviewed and report.judge_calls == 2 + 2  # calibration, then two reviews
    assert [reviewed for reviewed in review_requests(llm) if FIRST in reviewed]


def test_review_calls_count_against_the_budget_and_unreviewed_cases_are_reported() -> None:
    llm = synth_llm([FIRST, OTHER])
    report = synthesize_cases(TASK, llm, 3, settings=SynthSettings(max_calls=5))
    # generation, two calibration calls, review, generation: no call left to review
    assert llm.calls == 5 and (report.generation_calls, report.judge_calls) == (2, 3)
    assert report.kept == 1 and report.reasons() == {UNREVIEWED: 1}
    assert report.stopped.startswith("budget")


def test_no_budget_for_calibration_leaves_cases_unreviewed_not_kept() -> None:
    llm = synth_llm([FIRST, OTHER])
    report = synthesize_cases(TASK, llm, 2, settings=SynthSettings(max_calls=2))
    assert report.kept == 0 and report.reasons() == {UNREVIEWED: 2}
    assert report.calibration is None and report.judge_calls == 0
    assert "review: not run" in report.summary()


def test_a_calibrated_judge_discards_off_task_and_unreadable_cases() -> None:
    def decide(message: str) -> str:
        if "weather" in message:
            return "DISCARD: not about billing"
        return "Hmm, interesting." if "football" in message else "KEEP"

    replies = ["The weather is lovely today in the park", "Who won the football match?", FIRST]
    llm = synth_llm([*replies, OTHER], capable(decide))
    report = synthesize_cases(TASK, llm, 2)
    assert [case.input for case in report.cases] == [FIRST, OTHER]
    assert report.reasons() == {JUDGE_REJECTED: 1, JUDGE_UNPARSEABLE: 1}
    assert report.discarded[0].detail == "DISCARD: not about billing"
    assert (report.generated, report.generation_calls, report.judge_calls) == (4, 4, 2 + 4)
    assert report.calibration is not None and report.calibration.passed and report.reviewed
    assert f"review: judge {llm.name} passed calibration" in report.summary()


@pytest.mark.parametrize(
    "judge_reply",
    ["No, the text is not a realistic customer email.", "Banana bread is nice.", "KEEP"],
)
def test_a_judge_that_fails_calibration_reviews_nothing_and_the_report_says_so(
    judge_reply: str,
) -> None:
    replies = ["The weather is lovely today in the park", "| 1| 2| 4| 6|", FIRST, OTHER]
    llm = synth_llm(replies, lambda request: judge_reply)
    report = synthesize_cases(TASK, llm, 3)
    # Without a judge the local checks decide: the weather case passes them.
    assert [case.input for case in report.cases] == [replies[0], FIRST, OTHER]
    assert report.reasons() == {DEBRIS: 1}
    assert report.judge_calls == 2 and len(review_requests(llm)) == 2  # calibration only
    assert report.calibration is not None and not report.calibration.passed
    assert not report.reviewed
    warning = report.review_warning()
    assert warning.startswith(f"judge {llm.name} failed calibration (on-task control: ")
    assert "cases were not reviewed by an LLM" in warning and "--judge-model" in warning
    assert f"review: skipped: {warning}" in report.summary()


def test_cases_that_repeat_a_prompts_demos_are_discarded() -> None:
    llm = synth_llm([REWORDED, OTHER])
    settings = SynthSettings(threshold=similarity(REWORDED, FIRST) - 0.001, review=False)
    report = synthesize_cases(TASK, llm, 1, exclude=[FIRST], settings=settings)
    assert [case.input for case in report.cases] == [OTHER]
    assert report.reasons() == {REPEATS_DEMO: 1}


def test_labels_take_turns_and_the_asked_label_becomes_the_expected_output() -> None:
    llm = synth_llm([FIRST, OTHER, THIRD])
    report = synthesize_cases(TASK, llm, 3, labels=["refund", "question"])
    assert [(c.input, c.expected) for c in report.cases] == [
        (FIRST, "refund"),
        (OTHER, "question"),
        (THIRD, "refund"),
    ]
    asked = [messages[-1].content for messages, _ in generation_requests(llm)]
    assert [text.split("\n")[1] for text in asked] == [
        "Label: refund",
        "Label: question",
        "Label: refund",
    ]
    reviews = [r for r in review_requests(llm) if FIRST in r]
    assert "Label: refund" in reviews[0] and "(one of: refund, question)" in reviews[0]


def test_a_batch_size_above_one_asks_for_several_messages_per_call() -> None:
    llm = synth_llm([f"1. {FIRST}\n2. {OTHER}\n3. {THIRD}"])
    settings = SynthSettings(batch_size=3, review=False)
    report = synthesize_cases(TASK, llm, 3, settings=settings)
    assert [case.input for case in report.cases] == [FIRST, OTHER, THIRD]
    messages, params = generation_requests(llm)[0]
    assert "Write 3 different messages, one per line, for this task." in messages[-1].content
    assert report.generation_calls == 1 and params.max_tokens == 3 * settings.max_tokens


@pytest.mark.parametrize(
    ("reply", "error", "why"),
    [
        ("Here are the messages:\n```\n```", None, ""),
        ("x", LLMError("server down"), " (last error: server down)"),
    ],
)
def test_a_model_that_writes_no_cases_is_given_up_on(
    reply: str, error: Exception | None, why: str
) -> None:
    fails = None if error is None else (lambda messages: True)
    llm = ScriptedLLM([reply], fail_on=fails, error=error)
    report = synthesize_cases(TASK, llm, 2, settings=SynthSettings(max_calls=50))
    assert llm.calls == 5 and report.kept == 0
    assert report.stopped == f"no usable case in 5 generation calls in a row{why}"


def test_default_budget_scales_with_n() -> None:
    assert SynthSettings().calls_for(50) == (3 * 50 + 2) + (2 * 50 + 2)
    assert SynthSettings(review=False).calls_for(50) == 3 * 50 + 2
    assert SynthSettings(batch_size=8, review=False).calls_for(50) == 3 * 7 + 2
    assert SynthSettings(max_calls=9).calls_for(50) == 9


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"task": "  "}, "task"),
        ({"n": 0}, "n"),
        ({"labels": ["refund"]}, "labels"),
        ({"labels": ["Refund", "refund"]}, "labels"),
        ({"settings": SynthSettings(threshold=0.0)}, "threshold"),
        ({"settings": SynthSettings(max_calls=0)}, "max_calls"),
        ({"settings": SynthSettings(batch_size=0)}, "batch_size"),
    ],
)
def test_bad_arguments_raise_before_any_call(kwargs: dict[str, object], field: str) -> None:
    llm = synth_llm([FIRST])
    arguments: dict[str, object] = {"task": TASK, "n": 2, **kwargs}
    with pytest.raises(UserInputError) as caught:
        synthesize_cases(llm=llm, **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field and llm.calls == 0
