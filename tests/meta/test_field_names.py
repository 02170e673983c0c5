"""Field names read from a task's instruction and description."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autotune.meta.field_names import FieldNames, field_names, named_template


def test_the_input_is_the_determiners_phrase_and_the_answer_the_x_of() -> None:
    names = field_names(["Classify the sentiment of this movie review as positive or negative."])
    assert names == FieldNames("review", "sentiment")


def test_names_missing_from_the_instruction_come_from_the_description() -> None:
    texts = [
        "Classify this news article as World, Sports, Business or Sci/Tech.",
        "Decide the topic of a news article: World, Sports, Business or Sci/Tech.",
    ]
    assert field_names(texts) == FieldNames("article", "topic")


def test_labels_and_generic_words_are_never_names() -> None:
    labels = ["spam", "ham"]
    assert field_names(["Say whether the answer is a spam or a ham."], labels) is None
    names = field_names(["Label each email: the answer is one label, spam or ham."], labels)
    assert names == FieldNames("email", None)


def test_without_an_input_name_there_are_none() -> None:
    assert field_names(["Classify the sentiment of it."]) is None
    assert field_names([]) is None


def test_the_named_template_is_a_form_with_an_answer_cue() -> None:
    assert named_template("{text}", FieldNames("review", "sentiment")) == (
        "Review: {text}\nSentiment:"
    )
    assert named_template(" {q} ", FieldNames("problem")) == "Problem: {q}\nAnswer:"


def test_a_letter_outside_ascii_is_no_name() -> None:
    assert field_names(["AÀ"]) is None
    assert field_names(["a résumé"]) is None


@given(st.text(max_size=200), st.lists(st.text(min_size=1, max_size=8), max_size=4))
def test_any_text_gives_names_of_letters_that_are_not_labels(text: str, labels: list[str]) -> None:
    names = field_names([text], labels)
    if names is None:
        return
    lowered = {label.lower() for label in labels}
    for name in (names.input, names.answer):
        assert name is None or (name.isalpha() and name.isascii() and name not in lowered)
    assert names.input != names.answer
