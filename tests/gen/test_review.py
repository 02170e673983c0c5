from collections.abc import Sequence

import pytest

from autotune.errors import LLMError
from autotune.gen._parse import Candidate
from autotune.gen._review import (
    OFF_TASK_CONTROLS,
    CaseJudge,
    calibrate,
    off_task_control,
    parse_verdict,
)
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams


@pytest.mark.parametrize(
    ("reply", "keep"),
    [
        ("KEEP - a realistic billing email.", True),
        ("**DISCARD**: about the weather, not billing.", False),
        ("Realistic: yes. On task: no. Discard.", False),  # the decision beats echoed rubric words
        ("This case is not realistic.", False),
        ("I would not keep this one.", False),
        ("Verdict: keep", True),
        ("Some thoughts first.\nDecision - DISCARD", False),
        ("Yes, it fits the task.", True),
        ("No.", False),
        ("Valid and on task.", True),
        ("Answer: no, it is about trains.", False),
        ("DISCARD, then a short reason.", False),
    ],
)
def test_verdicts_are_read_leniently(reply: str, keep: bool) -> None:
    assert parse_verdict(reply) is keep


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "Interesting question about customer support.",
        # A verdict word far from the start is chatter, not a decision.
        "I am glad you are excited about the emails on billing disputes, I will make sure to keep",
    ],
)
def test_replies_without_a_verdict_are_unparseable(reply: str) -> None:
    assert parse_verdict(reply) is None


def test_judge_request_is_short_and_states_the_task_the_case_and_the_labels() -> None:
    llm = ScriptedLLM(["KEEP"])
    judge = CaseJudge(llm, "billing emails", ("refund", "question"))
    verdict = judge.review(Candidate("Where is my refund?", "question"))
    assert verdict.outcome == "keep"
    text = llm.requests[0][0][0].content
    assert "Task: billing emails\nMessage: Where is my refund?\nLabel: question\n" in text
    assert "(one of: refund, question)? Reply KEEP or DISCARD" in text
    assert len(text.split()) < 60
    assert llm.requests[0][1].temperature == 0.0


def test_judge_outcomes_for_discard_unreadable_and_failed_calls() -> None:
    replies = iter(["DISCARD: off task", "hmm"])
    judge = CaseJudge(ScriptedLLM(lambda m, p: next(replies)), "billing emails")
    assert judge.review(Candidate("What a nice day")).outcome == "discard"
    unreadable = judge.review(Candidate("What a nice day"))
    assert (unreadable.outcome, unreadable.reply) == ("unparseable", "hmm")
    broken = ScriptedLLM(["x"], fail_on=lambda m: True, error=LLMError("server down"))
    failed = CaseJudge(broken, "billing emails").review(Candidate("What a nice day"))
    assert (failed.outcome, failed.reply) == ("failed", "server down")


EXAMPLE = ("customer support emails about late deliveries", "My parcel has not arrived yet.")


def test_the_off_task_control_shares_no_word_with_the_task() -> None:
    assert off_task_control("billing emails") == OFF_TASK_CONTROLS[0]
    assert off_task_control("airport train timetable questions") == OFF_TASK_CONTROLS[1]
    assert off_task_control("airport bread for moons") == OFF_TASK_CONTROLS[-1]  # none fits


def judge_replying(keep_on_task: str, keep_off_task: str) -> ScriptedLLM:
    def reply(messages: Sequence[Message], params: SamplingParams) -> str:
        text = messages[-1].content
        return keep_on_task if "Message: My parcel" in text else keep_off_task

    return ScriptedLLM(reply)


def test_calibration_passes_when_the_judge_keeps_on_task_and_discards_off_task() -> None:
    llm = judge_replying("KEEP: a real customer", "DISCARD: about trains")
    result = calibrate(CaseJudge(llm, "billing emails", ("refund", "other")), EXAMPLE)
    assert result.passed and llm.calls == 2
    on_task_request, off_task_request = (request[0][-1].content for request in llm.requests)
    assert f"Task: {EXAMPLE[0]}\nMessage: {EXAMPLE[1]}\n" in on_task_request
    assert "one of" not in on_task_request  # the example is judged against its own task
    assert f"Task: billing emails\nMessage: {OFF_TASK_CONTROLS[0]}\nLabel: refund" in (
        off_task_request
    )


@pytest.mark.parametrize(
    ("on_task", "off_task", "detail"),
    [
        ("No, it is not realistic.", "No.", "on-task control: discard ('No, it is not"),
        ("KEEP", "KEEP", "off-task control: keep ('KEEP')"),
        ("Banana", "Banana", "on-task control: unparseable ('Banana'); off-task control: unp"),
    ],
)
def test_calibration_fails_for_a_judge_that_cannot_judge(
    on_task: str, off_task: str, detail: str
) -> None:
    result = calibrate(CaseJudge(judge_replying(on_task, off_task), "billing emails"), EXAMPLE)
    assert not result.passed and detail in result.detail


def test_calibration_fails_when_the_judge_calls_fail() -> None:
    broken = ScriptedLLM(["x"], fail_on=lambda m: True, error=LLMError("server down"))
    result = calibrate(CaseJudge(broken, "billing emails"), EXAMPLE)
    assert not result.passed and result.on_task.outcome == "failed"
