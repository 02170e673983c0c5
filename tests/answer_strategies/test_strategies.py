import asyncio

import pytest

from autotune.answer_strategies import (
    AnswerResult,
    ReflexionAnswer,
    StepByStepAnswer,
    available_answer_strategies,
    get_answer_strategy,
)
from autotune.answer_strategies.step_by_step import extract_answer, last_nonempty_line
from autotune.errors import ConfigError
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.prompt import Prompt

PROMPT = Prompt(system="Solve the sum. Reply with a number.", user_template="{question}")
INPUTS = {"question": "What is 2 + 3?"}
PARAMS = SamplingParams(max_tokens=32)


def run(strategy_name: str, llm: ScriptedLLM, **options: object) -> AnswerResult:
    strategy = get_answer_strategy(strategy_name, **options)
    return asyncio.run(strategy.run(llm, PROMPT, INPUTS, PARAMS))


def test_registry_lists_and_builds_strategies() -> None:
    assert available_answer_strategies() == ["direct", "reflexion", "step_by_step"]
    strategy = get_answer_strategy("reflexion", rounds=2)
    assert isinstance(strategy, ReflexionAnswer) and strategy.rounds == 2
    assert isinstance(get_answer_strategy("step_by_step"), StepByStepAnswer)


def test_unknown_strategy_is_a_config_error_on_field_strategy() -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'cot'") as caught:
        get_answer_strategy("cot")
    assert caught.value.field == "strategy"


def test_direct_makes_one_call_with_the_rendered_prompt() -> None:
    llm = ScriptedLLM(["5"])
    result = run("direct", llm)
    assert (result.output, result.trace, len(result.completions)) == ("5", [], 1)
    assert llm.requests == [(PROMPT.render(INPUTS), PARAMS)]
    assert result.request == PROMPT.render(INPUTS)


def test_step_by_step_parses_the_answer_line_in_one_call() -> None:
    llm = ScriptedLLM(["2 plus 3 makes 5.\nAnswer: 5"])
    result = run("step_by_step", llm)
    assert result.output == "5"
    assert llm.calls == 1 and len(result.completions) == 1
    assert result.trace == [("reasoning", "2 plus 3 makes 5.\nAnswer: 5"), ("final", "5")]
    sent = llm.requests[0][0]
    assert sent[:-1] == PROMPT.render(INPUTS)[:-1]
    assert sent[-1].content.startswith("What is 2 + 3?\n\nThink step by step.")
    assert result.request == sent


def test_step_by_step_asks_for_the_final_answer_when_no_answer_line() -> None:
    llm = ScriptedLLM(["First add the numbers.\nThat gives five.", " 5 "])
    result = run("step_by_step", llm)
    assert result.output == "5"
    assert llm.calls == 2
    follow_up = llm.requests[1][0]
    assert follow_up[-2] == Message("assistant", "First add the numbers.\nThat gives five.")
    assert follow_up[-1].content.startswith("Final answer only")
    assert result.trace[-1] == ("final", "5")


def test_step_by_step_falls_back_to_the_last_line_when_the_follow_up_is_empty() -> None:
    llm = ScriptedLLM(["Add them.\nfive\n\n", "   "])
    assert run("step_by_step", llm).output == "five"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reasoning\nAnswer: positive", "positive"),
        ("**Final Answer:** 42", "42"),
        ("answer: 1\nthen\nThe answer is: 2", "2"),
        ("Answer:\n\n  negative  \n", "negative"),
        ("answer - sports", "sports"),
        ("no marker here", None),
        ("The answer\n- first step", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


def test_last_nonempty_line() -> None:
    assert last_nonempty_line("a\n**b**\n \n") == "b"
    assert last_nonempty_line("  \n") == ""


def test_reflexion_drafts_critiques_and_revises_from_the_critique() -> None:
    llm = ScriptedLLM(["6", "- 2 + 3 is 5, not 6.", "5"])
    result = run("reflexion", llm)
    assert result.output == "5"
    assert result.trace == [("draft", "6"), ("critique", "- 2 + 3 is 5, not 6."), ("final", "5")]
    assert llm.calls == 3 and len(result.completions) == 3
    draft_request, critique_request, revise_request = (r[0] for r in llm.requests)
    assert draft_request == PROMPT.render(INPUTS)
    critique_text = critique_request[-1].content
    assert "What is 2 + 3?" in critique_text and "Solve the sum." in critique_text
    assert "<answer>\n6\n</answer>" in critique_text and "logic errors" in critique_text
    # The rewrite happens in the original conversation and carries the critique.
    assert revise_request[:-2] == PROMPT.render(INPUTS)
    assert revise_request[-2] == Message("assistant", "6")
    assert "- 2 + 3 is 5, not 6." in revise_request[-1].content


def test_reflexion_rounds_repeat_critique_and_revision() -> None:
    llm = ScriptedLLM(["7", "wrong: 7", "6", "still wrong: 6", "5"])
    result = run("reflexion", llm, rounds=2)
    assert [name for name, _ in result.trace] == [
        "draft",
        "critique",
        "revision",
        "critique",
        "final",
    ]
    assert result.output == "5" and llm.calls == 5
    assert "<answer>\n6\n</answer>" in llm.requests[3][0][-1].content
    assert "still wrong: 6" in llm.requests[4][0][-1].content


def test_reflexion_keeps_the_previous_answer_when_the_rewrite_is_empty() -> None:
    llm = ScriptedLLM(["5", "No problems found.", ""])
    assert run("reflexion", llm).output == "5"


def test_reflexion_custom_templates_are_used_and_checked() -> None:
    strategy = ReflexionAnswer(
        critique_template="Judge {answer} for {task}", revise_template="Fix: {critique}"
    )
    llm = ScriptedLLM(["6", "too big", "5"])
    asyncio.run(strategy.run(llm, PROMPT, INPUTS, PARAMS))
    assert llm.requests[1][0][0].content.startswith("Judge 6 for [system]")
    assert llm.requests[2][0][-1].content == "Fix: too big"
    with pytest.raises(ConfigError) as caught:
        ReflexionAnswer(revise_template="Fix {answer}")
    assert caught.value.field == "revise_template"
    with pytest.raises(ValueError, match="at least one round"):
        ReflexionAnswer(rounds=0)
