import pytest

from autotune.gen._synth_checks import (
    CHATTER,
    COPIES_PROMPT,
    DEBRIS,
    PLACEHOLDER,
    TOO_SHORT,
    LocalChecks,
)

TASK = "customer support emails about billing disputes"
EXAMPLE = "My parcel was due on Monday and it still has not arrived. Can you tell me where it is?"
CHECKS = LocalChecks([TASK, EXAMPLE], threshold=0.8)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("| Test Input 1 | Test Input 2 |", DEBRIS),
        ("| 1| 2| 4| 6|", DEBRIS),
        ("42", DEBRIS),
        ("1. 2. 3. 4. 5. a", DEBRIS),
        ("", TOO_SHORT),
        ("Fix my bill", TOO_SHORT),
        ("Hi [Name], I was charged twice for my plan.", PLACEHOLDER),
        ("My account <ACCOUNT_ID> was charged twice today.", PLACEHOLDER),
        ("Sure, here are five emails about billing.", CHATTER),
        ("Here are 5 customer emails for you to use.", CHATTER),
        ("As an AI, I cannot write customer emails.", CHATTER),
        ("I'm sorry, but you're not allowed to respond to this.", CHATTER),
        ("I'm sorry to hear that. Can you tell me more?", CHATTER),
        ("We apologize for the inconvenience, your refund is on its way.", CHATTER),
        ("How can I help you with your billing today?", CHATTER),
        ("You mean my refund? Is there anything else I can help with?", CHATTER),
        ("Customer support emails about billing disputes.", COPIES_PROMPT),
        (f'"{EXAMPLE}"', COPIES_PROMPT),
    ],
)
def test_each_problem_is_named(text: str, reason: str) -> None:
    assert CHECKS.problem(text)[0] == reason


@pytest.mark.parametrize(
    "text",
    [
        "I was charged twice for my subscription this month. Please refund one payment.",
        "Here is my account number, please check why the refund has not arrived.",
        "Hi, why does my invoice show a setup fee I never agreed to?",
        "Please let me know if you need my order number.",
        "I'm an assistant manager and our team plan was billed twice.",
        "How can I see which card was charged for my last invoice?",
    ],
)
def test_realistic_messages_pass(text: str) -> None:
    assert CHECKS.problem(text) == ("", "")


def test_a_copy_names_what_it_copies() -> None:
    reason, detail = CHECKS.problem("Customer support emails about billing disputes")
    assert reason == COPIES_PROMPT and detail.endswith(f"similar to {TASK!r}")
