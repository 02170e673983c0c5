import pytest
from gen_doubles import generation_requests, synth_llm

from autotune.errors import UserInputError
from autotune.gen import SynthSettings, synthesize_cases
from autotune.gen._dedup import similarity
from autotune.gen.synth import (
    JUDGE_REJECTED,
    JUDGE_UNPARSEABLE,
    NEAR_DUPLICATE,
    NO_LABEL,
    REPEATS_DEMO,
    UNREVIEWED,
)

TASK = "customer support emails about billing disputes"
FIRST = "I was charged twice for my subscription this month"
REWORDED = "I was charged two times for my subscription this month"
OTHER = "Why does my invoice show a setup fee I never agreed to?"


@pytest.mark.parametrize(("offset", "duplicate"), [(-0.001, True), (0.001, False)])
def test_near_duplicates_are_discarded_only_above_the_threshold(
    offset: float, duplicate: bool
) -> None:
    score = similarity(REWORDED, FIRST)
    assert 0.3 < score < 0.99
    llm = synth_llm([f"{FIRST}\n{REWORDED}\n{OTHER}"])
    settings = SynthSettings(threshold=score + offset, review=False)
    report = synthesize_cases(TASK, llm, 2, settings=settings)
    assert [case.input for case in report.cases] == [FIRST, OTHER if duplicate else REWORDED]
    assert report.reasons() == ({NEAR_DUPLICATE: 1} if duplicate else {})
    if duplicate:
        assert report.discarded[0].detail.startswith(f"{score:.2f} similar to 'I was charged")


def test_replacements_stop_at_the_call_budget_and_say_so() -> None:
    llm = synth_llm([FIRST])  # every batch repeats the same case
    report = synthesize_cases(TASK, llm, 3, settings=SynthSettings(max_calls=5, review=False))
    assert llm.calls == 5 and report.calls == 5 and report.generation_calls == 5
    assert report.kept == 1 and not report.complete
    assert report.reasons() == {NEAR_DUPLICATE: 4}
    assert report.stopped == "budget: all 5 model calls used"
    assert "kept 1 of 3" in report.summary() and "near-duplicate: 4" in report.summary()
    samples = [params.sample_index for _, params in generation_requests(llm)]
    assert samples == [0, 1, 2, 3, 4]  # each call asks for a new sample


def test_review_calls_count_against_the_budget_and_unreviewed_cases_are_reported() -> None:
    llm = synth_llm([f"{FIRST}\n{OTHER}\nWhere can I download last year's receipts?"])
    report = synthesize_cases(TASK, llm, 3, settings=SynthSettings(max_calls=3))
    assert llm.calls == 3 and (report.generation_calls, report.judge_calls) == (1, 2)
    assert report.kept == 2 and report.reasons() == {UNREVIEWED: 1}
    assert report.stopped.startswith("budget")


def test_the_judge_discards_off_task_and_unreadable_cases_and_replacements_follow() -> None:
    def judge(request: str) -> str:
        if "weather" in request:
            return "DISCARD: not about billing"
        return "Hmm, interesting." if "parcel" in request else "KEEP"

    batches = ["The weather is lovely today\nWhere is my parcel, it is late?", FIRST, OTHER]
    llm = synth_llm(batches, judge)
    report = synthesize_cases(TASK, llm, 2)
    assert [case.input for case in report.cases] == [FIRST, OTHER]
    assert report.reasons() == {JUDGE_REJECTED: 1, JUDGE_UNPARSEABLE: 1}
    assert report.discarded[0].detail == "DISCARD: not about billing"
    assert (report.generated, report.generation_calls, report.judge_calls) == (4, 3, 4)
    second = generation_requests(llm)[2][0]
    assert f"Do not repeat these cases already written:\n- {FIRST}" in second
    assert "Write 1 new test inputs" in second


def test_cases_that_repeat_a_prompts_demos_are_discarded() -> None:
    llm = synth_llm([f"{REWORDED}\n{OTHER}"])
    settings = SynthSettings(threshold=similarity(REWORDED, FIRST) - 0.001, review=False)
    report = synthesize_cases(TASK, llm, 1, exclude=[FIRST], settings=settings)
    assert [case.input for case in report.cases] == [OTHER]
    assert report.reasons() == {REPEATS_DEMO: 1}


def test_labelled_cases_need_an_allowed_label_which_becomes_the_expected_output() -> None:
    llm = synth_llm([f"refund | {FIRST}\nsurprise | {OTHER}\nquestion | {OTHER}"])
    report = synthesize_cases(TASK, llm, 2, labels=["refund", "question"])
    assert [(c.input, c.expected) for c in report.cases] == [(FIRST, "refund"), (OTHER, "question")]
    assert report.reasons() == {NO_LABEL: 1}
    request = generation_requests(llm)[0][0]
    assert "one of: refund, question" in request and "label | input text" in request


def test_a_model_that_writes_no_cases_is_given_up_on() -> None:
    llm = synth_llm(["Sure! Here are the cases:"])
    report = synthesize_cases(TASK, llm, 2, settings=SynthSettings(max_calls=50))
    assert llm.calls == 3 and report.kept == 0
    assert report.stopped == "no usable case in 3 generation calls in a row"


def test_default_budget_scales_with_n() -> None:
    assert SynthSettings().calls_for(50) == 3 * (50 + 7)
    assert SynthSettings(review=False).calls_for(50) == 3 * 7 + 2
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
    ],
)
def test_bad_arguments_raise_before_any_call(kwargs: dict[str, object], field: str) -> None:
    llm = synth_llm([FIRST])
    arguments: dict[str, object] = {"task": TASK, "n": 2, **kwargs}
    with pytest.raises(UserInputError) as caught:
        synthesize_cases(llm=llm, **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field and llm.calls == 0
