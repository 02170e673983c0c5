import pytest

from autotune.gen._parse import Candidate, parse_candidates

LABELS = ("refund", "complaint", "question")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("refund | I was charged twice for my plan.", "refund"),
        ("I was charged twice for my plan. | Refund", "refund"),
        ("1. **Complaint**: I was charged twice for my plan.", "complaint"),
        ("- [question] I was charged twice for my plan.", "question"),
        ('3) "I was charged twice for my plan." (refund)', "refund"),
        ("I was charged twice for my plan. - complaint", "complaint"),
        ("refund\tI was charged twice for my plan.", "refund"),
        ('{"text": "I was charged twice for my plan.", "label": "Question"}', "question"),
        ("Label: refund - I was charged twice for my plan.", "refund"),
    ],
)
def test_one_case_per_line_in_many_layouts(line: str, expected: str) -> None:
    found = parse_candidates(line, LABELS)
    assert found == [Candidate("I was charged twice for my plan.", expected)]


def test_input_and_label_lines_pair_up_and_chatter_is_dropped() -> None:
    text = (
        "Sure! Here are 3 test cases:\n\n"
        "Input: My card was billed after I cancelled.\n"
        "Label: refund\n"
        "Input 2: Why does the invoice list a setup fee?\n"
        "Output: question\n"
        "```\n"
        "Input: The late fee is unfair, complaint\n"
        "I hope these help!"
    )
    assert parse_candidates(text, LABELS) == [
        Candidate("My card was billed after I cancelled.", "refund"),
        Candidate("Why does the invoice list a setup fee?", "question"),
        Candidate("The late fee is unfair", "complaint"),
    ]


def test_a_line_without_an_allowed_label_keeps_no_expected_value() -> None:
    found = parse_candidates("positive | I love the new billing page", LABELS)
    assert found == [Candidate("positive | I love the new billing page", None)]


def test_json_array_answer() -> None:
    items = '[{"input": "Where is my refund?", "label": "question"}, "A plain email text"]'
    text = f"```json\n{items}\n```"
    assert parse_candidates(text, LABELS) == [
        Candidate("Where is my refund?", "question"),
        Candidate("A plain email text", None),
    ]


def test_without_labels_lines_are_inputs_and_fragments_are_skipped() -> None:
    text = "Here are two inputs for this task.\n1. Why was I charged twice?\n2) ok\n\n- Fix my bill"
    assert parse_candidates(text) == [
        Candidate("Why was I charged twice?"),
        Candidate("Fix my bill"),
    ]


def test_rambling_prose_without_cases_gives_only_what_looks_like_lines() -> None:
    assert parse_candidates("") == []
    assert parse_candidates("Examples:\n```\n```") == []
