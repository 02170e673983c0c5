import pytest

from autotune.gen._synth_prompt import case_prompt, clean_message, parse_case_prompt

TASK = "customer support emails about billing disputes"


def test_the_shipped_template_is_a_few_shot_conversation() -> None:
    prompt = case_prompt()
    assert len(prompt.examples) >= 2 and all(e.label for e in prompt.examples)
    messages = prompt.messages(TASK)
    assert messages[0].role == "system" and "Reply with the message only" in messages[0].content
    pairs = messages[1:-1]
    assert [m.role for m in pairs] == ["user", "assistant"] * len(prompt.examples)
    assert pairs[0].content == f"Task: {prompt.examples[0].task}\nWrite one message for this task."
    assert pairs[1].content == prompt.examples[0].message
    assert messages[-1].content == f"Task: {TASK}\nWrite one message for this task."
    assert not any("Label:" in m.content for m in messages)  # unlabelled task, no labels shown


def test_a_labelled_request_shows_labels_in_the_examples_and_asks_for_one() -> None:
    prompt = case_prompt()
    messages = prompt.messages(TASK, label="refund", count=2)
    assert f"Label: {prompt.examples[0].label}\n" in messages[1].content
    assert messages[-1].content == (
        f"Task: {TASK}\nLabel: refund\nWrite 2 different messages, one per line, for this task."
    )


def test_a_template_without_a_system_section_or_example() -> None:
    prompt = parse_case_prompt("## example\nTask: t\nMessage: m\n## request\nDo $task")
    assert [(m.role, m.content) for m in prompt.messages("x")] == [
        ("user", "Do t"),
        ("assistant", "m"),
        ("user", "Do x"),
    ]
    with pytest.raises(ValueError, match="needs an '## example'"):
        parse_case_prompt("## system\nhi\n## example\nTask: only a task")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ('"I was charged twice this month."', "I was charged twice this month."),
        ("Message: I was charged twice this month.", "I was charged twice this month."),
        ("Customer email: 'I was charged twice.'", "I was charged twice."),
        (
            "Subject: Double charge\n\nDear [Company Name],\n\nI was charged twice this month."
            "\nPlease refund one.\n\nSincerely,\n[Your Name]",
            "I was charged twice this month. Please refund one.",
        ),
        (
            "Hi, I was charged twice this month.\n\nNote: this message is short.",
            "Hi, I was charged twice this month.",
        ),
        (
            "Why was I charged twice? I only ordered once and the second charge is",
            "Why was I charged twice?",
        ),
        ("Here are the messages:\n```\n```", ""),
        ("One.\n\nTwo.\n\nThree.\n\nFour.", "One. Two. Three."),
    ],
)
def test_clean_message_keeps_only_the_message(reply: str, message: str) -> None:
    assert clean_message(reply) == message


def test_a_long_first_line_that_starts_with_a_greeting_is_kept() -> None:
    text = "Hi, I was charged twice for my plan and nobody answers my emails"
    assert clean_message(text) == text
