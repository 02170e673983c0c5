"""The named-fields operator frames the case with the task's own words."""

from __future__ import annotations

import random

from autotune.bench.case import Case
from autotune.meta.brief import TaskBrief
from autotune.search.base import SearchSpace
from autotune.search.candidate import Candidate, CaseScore
from autotune.search.evolution import EvolutionSearcher
from autotune.search.operators.base import OperatorContext
from autotune.search.operators.fields import NameFields
from autotune.search.operators.structural import DropPart
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.settings import SearchSettings

CASES = (Case("c0", {"text": "a fine film"}, "positive"),)


def _context(instruction: str, template: str = "{text}") -> OperatorContext:
    space = SearchSpace(
        settings=SearchSettings(),
        seed=PromptParts(context=instruction, user_template=template),
        search_cases=CASES,
        demo_pool=(),
        brief=TaskBrief("Decide whether a movie review is positive or negative.", "", ()),
        labels=("positive", "negative"),
    )
    return OperatorContext(space, Population(), {}, random.Random(0), 0)


def test_the_child_is_framed_as_a_form_and_keeps_everything_else() -> None:
    context = _context("Classify the sentiment of this movie review.")
    parent = Candidate(1, context.space.seed.with_(persona="You are a critic."))
    operator = NameFields()
    assert operator.targets(parent, context) == ["fields"]
    child = operator.apply(parent, "fields", context)
    assert child.parts is not None and child.parents == (1,)
    assert child.parts.user_template == "Review: {text}\nSentiment:"
    assert child.parts.with_(user_template="{text}") == parent.parts
    # A parent already framed so has nothing to gain from it.
    assert operator.targets(Candidate(2, child.parts), context) == []


def test_the_description_names_the_input_when_the_instruction_does_not() -> None:
    context = _context("Classify the sentiment of it.")
    child = NameFields().apply(Candidate(1, context.space.seed), "fields", context)
    assert child.parts is not None
    assert child.parts.user_template == "Review: {text}\nSentiment:"


def test_a_multi_line_framing_is_left_alone() -> None:
    context = _context("Classify this review.", template="Text: {text}\nAnswer:")
    assert NameFields().targets(Candidate(1, context.space.seed), context) == []


def _scored_seed(context: OperatorContext) -> Candidate:
    rows = {case.id: CaseScore(1.0, 10) for case in CASES}
    seed = Candidate(0, context.space.seed, operator="seed", rows={"train": rows})
    seed.status = "accepted"
    return seed


def test_the_search_opens_with_the_seed_framed_and_scored_on_every_case() -> None:
    context = _context("Classify the sentiment of this movie review.")
    population = Population([_scored_seed(context)])
    searcher = EvolutionSearcher(context.space, [NameFields()])
    ask = searcher.ask(_Trial(1), population)  # type: ignore[arg-type]
    assert ask.stage == "opening" and ask.cases == CASES
    assert ask.candidate.parents == (0,) and ask.candidate.operator == "fields"
    assert ask.candidate.parts.user_template == "Review: {text}\nSentiment:"
    # Scored, it is accepted as it is: an opening has no mini-batch to win.
    assert searcher.tell(_Trial(1), ask, [], population) is None  # type: ignore[arg-type]
    assert ask.candidate.status == "accepted"
    # Once tried, the search goes on with its ordinary steps.
    population.add(ask.candidate)
    assert searcher.ask(_Trial(2), population).stage != "opening"  # type: ignore[arg-type]


def test_an_operator_that_does_not_open_waits_to_be_drawn() -> None:
    context = _context("Classify the sentiment of this movie review.")
    population = Population([_scored_seed(context)])
    searcher = EvolutionSearcher(context.space, [DropPart()])
    assert searcher.ask(_Trial(1), population).stage != "opening"  # type: ignore[arg-type]


class _Trial:
    def __init__(self, number: int) -> None:
        self.number = number
