import pytest

from autotune.answer_strategies import ReflexionAnswer
from autotune.errors import UserInputError
from autotune.gen import ReflexionRound, reflect
from autotune.gen.reflect import rounds_from_trace
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams

QUESTION = "What is 17 * 3?"


def test_one_round_shows_draft_critique_and_final_answer() -> None:
    llm = ScriptedLLM(["41", "- 17 * 3 is 51, not 41.", "51"])
    params = SamplingParams(max_tokens=20)
    reflection = reflect(QUESTION, llm, system="Answer with a number.", params=params)
    assert reflection.rounds == [ReflexionRound(1, "41", "- 17 * 3 is 51, not 41.", "51")]
    assert reflection.answer == "51" and reflection.calls == 3
    # The requests are the optimizer's reflexion strategy's own.
    strategy = ReflexionAnswer()
    messages = [Message("system", "Answer with a number."), Message("user", QUESTION)]
    task = "[system]\nAnswer with a number.\n\n[user]\nWhat is 17 * 3?"
    assert llm.requests[0] == (messages, params)
    assert llm.requests[1][0] == strategy.critique_request(task, "41")
    assert llm.requests[2][0] == strategy.revise_request(messages, "41", "- 17 * 3 is 51, not 41.")
    markdown = reflection.to_markdown()
    assert "## Round 1\n\n### Draft\n41\n\n### Critique\n- 17 * 3 is 51" in markdown
    assert markdown.endswith("## Answer\n51\n")


def test_later_rounds_critique_the_previous_rounds_answer() -> None:
    llm = ScriptedLLM(["41", "wrong", "50", "still wrong", "51"])
    reflection = reflect(QUESTION, llm, rounds=2)
    assert reflection.rounds == [
        ReflexionRound(1, "41", "wrong", "50"),
        ReflexionRound(2, "50", "still wrong", "51"),
    ]
    assert llm.calls == 5 and llm.requests[0][0] == [Message("user", QUESTION)]


def test_rounds_from_trace_regroups_the_strategy_trace() -> None:
    trace = [
        ("draft", "a"),
        ("critique", "x"),
        ("revision", "b"),
        ("critique", "y"),
        ("final", "c"),
    ]
    assert rounds_from_trace(trace) == [
        ReflexionRound(1, "a", "x", "b"),
        ReflexionRound(2, "b", "y", "c"),
    ]
    assert rounds_from_trace([("draft", "a")]) == []


@pytest.mark.parametrize(
    ("question", "rounds", "field"), [(" ", 1, "question"), ("q?", 0, "rounds")]
)
def test_bad_input_is_refused_before_any_call(question: str, rounds: int, field: str) -> None:
    llm = ScriptedLLM(["x"])
    with pytest.raises(UserInputError) as caught:
        reflect(question, llm, rounds=rounds)
    assert caught.value.field == field and llm.calls == 0
