"""Label log-probabilities read from an OpenAI-compatible server's top_logprobs."""

from __future__ import annotations

from autotune.llm._openai_logprobs import choice_logprobs, first_token_alternatives

LABELS = ("World", "Sports", "Business", "Sci/Tech")


def test_a_choice_takes_its_best_token_and_an_unlisted_one_the_floor() -> None:
    top = [
        {"token": "Sports", "logprob": -0.2},
        {"token": " Sp", "logprob": -2.0},  # a shorter start of the same label
        {"token": "Sci", "logprob": -1.5},
        {"token": "S", "logprob": -3.0},  # starts two labels: no one's
        {"token": "The", "logprob": -4.0},
    ]
    assert choice_logprobs(top, LABELS) == (-4.0, -0.2, -4.0, -1.5)


def test_unreadable_alternatives_give_none() -> None:
    assert choice_logprobs([], LABELS) is None
    assert choice_logprobs([{"token": 3, "logprob": -1.0}], LABELS) is None
    assert first_token_alternatives({"message": {"content": "World"}}) is None
    item = {"logprobs": {"content": [{"token": "W", "top_logprobs": [{"token": "W"}]}]}}
    assert first_token_alternatives(item) == [{"token": "W"}]
