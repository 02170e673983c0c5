import pytest

from autotune.errors import LLMError
from autotune.gen._parse import Candidate
from autotune.gen._review import CaseJudge, parse_verdict
from autotune.llm.fake import ScriptedLLM


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


def test_judge_request_states_the_task_the_case_and_the_label_rubric() -> None:
    llm = ScriptedLLM(["KEEP"])
    judge = CaseJudge(llm, "billing emails", ("refund", "question"))
    verdict = judge.review(Candidate("Where is my refund?", "question"))
    assert verdict.outcome == "keep"
    text = llm.requests[0][0][0].content
    assert "Task: billing emails" in text and "Input: Where is my refund?" in text
    assert "Expected label: question" in text and "(labels: refund, question)" in text
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
