"""The evolution's acceptance: failures and successes weighted by their shares, a tie
re-checked on fresh cases."""

from __future__ import annotations

from autotune.bench.case import Case
from autotune.meta.brief import TaskBrief
from autotune.search.base import Ask, SearchSpace
from autotune.search.candidate import Candidate, CaseScore, Feedback
from autotune.search.evolution import EvolutionSearcher
from autotune.search.operators.calibrate import Calibrate
from autotune.search.parts import PromptParts
from autotune.search.population import Population
from autotune.search.settings import SearchSettings

CASES = tuple(Case(f"c{i}", {"text": f"text {i}"}, "yes" if i % 2 else "no") for i in range(24))


def _space() -> SearchSpace:
    return SearchSpace(
        settings=SearchSettings(minibatch_size=8),
        seed=PromptParts(context="Answer yes or no."),
        search_cases=CASES,
        demo_pool=(),
        brief=TaskBrief("Say yes or no.", "", ()),
        labels=("yes", "no"),
    )


def _scored(number: int, scores: dict[str, float], persona: str = "") -> Candidate:
    rows = {case: CaseScore(score, 10 + len(persona)) for case, score in scores.items()}
    return Candidate(number, PromptParts(persona=persona), rows={"train": rows})


class _Trial:
    def __init__(self, number: int) -> None:
        self.number = number


def _tell(searcher: EvolutionSearcher, child: Candidate, ask: Ask, pop: Population) -> Ask | None:
    return searcher.tell(_Trial(child.number), ask, [], pop)  # type: ignore[arg-type]


def test_a_tie_is_rechecked_on_new_cases_and_then_decided_on_all_of_them() -> None:
    parent = _scored(0, {c.id: float(i % 2) for i, c in enumerate(CASES)})  # half right
    parent.status = "accepted"
    population = Population([parent])
    searcher = EvolutionSearcher(_space(), [])
    first = CASES[:8]
    longer = " a much longer persona"
    child = _scored(1, {c.id: parent.scores()[c.id] for c in first}, persona=longer)
    child.parents = (0,)
    again = _tell(searcher, child, Ask(child, first, "minibatch"), population)
    assert again is not None and again.stage == "recheck"
    assert len(again.cases) == 8 and not {c.id for c in again.cases} & {c.id for c in first}
    # Better on the second batch: better on the 16 cases, so scored on the rest.
    for case in again.cases:
        child.rows["train"][case.id] = CaseScore(1.0, 10 + len(longer))
    rest = _tell(searcher, child, again, population)
    assert rest is not None and rest.stage == "pareto" and len(rest.cases) == 8
    assert "16 cases" in child.note


def test_a_longer_child_that_ties_twice_is_rejected() -> None:
    parent = _scored(0, {c.id: float(i % 2) for i, c in enumerate(CASES)})
    parent.status = "accepted"
    population = Population([parent])
    searcher = EvolutionSearcher(_space(), [])
    child = _scored(1, {c.id: parent.scores()[c.id] for c in CASES[:8]}, persona="longer")
    child.parents = (0,)
    again = _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), population)
    assert again is not None
    for case in again.cases:
        child.rows["train"][case.id] = CaseScore(parent.scores()[case.id], 16)
    assert _tell(searcher, child, again, population) is None
    assert child.status == "rejected"


def test_a_child_worse_on_the_first_batch_is_rejected_without_a_recheck() -> None:
    parent = _scored(0, {c.id: 1.0 for c in CASES})
    parent.status = "accepted"
    searcher = EvolutionSearcher(_space(), [])
    child = _scored(1, {c.id: 0.0 for c in CASES[:8]})
    child.parents = (0,)
    assert _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), Population([parent])) is None
    assert child.status == "rejected"


def test_a_calibrated_child_is_judged_on_every_case_its_parent_was_scored_on() -> None:
    lean = {"yes": -0.3, "no": -1.4}  # the same lean on every case: calibration flips some
    rows = {c.id: CaseScore(float(i % 2), 10, lean) for i, c in enumerate(CASES[:20])}
    parent = Candidate(0, _space().seed, status="accepted", rows={"train": rows})
    searcher = EvolutionSearcher(_space(), [Calibrate()])
    ask = searcher.ask(_Trial(1), Population([parent]))  # type: ignore[arg-type]
    assert ask.candidate.operator == "calibrate" and ask.candidate.parts.calibration
    assert ask.stage == "minibatch" and [c.id for c in ask.cases] == [c.id for c in CASES[:20]]
    other = searcher.ask(_Trial(2), Population([parent]))  # type: ignore[arg-type]
    assert len(other.cases) == 20  # not a mini-batch of 8, whichever trial draws it


def _leaning_child(calibrate_search: bool) -> tuple[EvolutionSearcher, Candidate, Population]:
    """A child that answers "yes" to everything (right on half of 8 cases) against a parent
    right on 7 of them; its label probabilities lean to "yes" by a constant."""
    space = _space()
    space.settings.calibrate_search = calibrate_search
    parent = _scored(0, {c.id: float(i > 0) for i, c in enumerate(CASES)})
    parent.status = "accepted"
    rows = {
        c.id: CaseScore(
            1.0 if c.expected == "yes" else 0.0,
            10,
            {"yes": -0.1, "no": -2.5} if c.expected == "yes" else {"yes": -0.4, "no": -1.2},
        )
        for c in CASES[:8]
    }
    child = Candidate(1, PromptParts(context="Answer."), parents=(0,), rows={"train": rows})
    child.calls = 8
    child.feedback = [Feedback(c.id, "yes", "wrong") for c in CASES[:8] if c.expected == "no"]
    return EvolutionSearcher(space, []), child, Population([parent])


def test_a_rejected_child_is_read_again_calibrated_on_the_same_cases() -> None:
    searcher, child, population = _leaning_child(calibrate_search=True)
    again = _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), population)
    assert again is not None and again.stage == "calibrated" and again.candidate is child
    assert [c.id for c in again.cases] == [c.id for c in CASES[:8]]
    bias = dict(child.parts.calibration)
    assert bias["yes"] > bias["no"]  # the lean, estimated from its own answers
    assert child.parts.with_(calibration=()) == PromptParts(context="Answer.")
    # Its rows are scored again: the raw ones, their calls and feedback are gone.
    assert child.rows["train"] == {} and child.calls == 0 and child.feedback == []
    for case in CASES[:8]:  # read calibrated, every case is right
        child.rows["train"][case.id] = CaseScore(1.0, 10)
    rest = _tell(searcher, child, again, population)
    assert rest is not None and rest.stage == "pareto" and len(rest.cases) == len(CASES) - 8


def test_a_calibrated_reading_is_tried_once_and_only_when_the_setting_asks() -> None:
    searcher, child, population = _leaning_child(calibrate_search=True)
    again = _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), population)
    assert again is not None
    for case in CASES[:8]:  # no better calibrated: rejected, not read a third time
        child.rows["train"][case.id] = CaseScore(0.5, 10, {"yes": -0.1, "no": -2.5})
    assert _tell(searcher, child, again, population) is None
    assert child.status == "rejected" and child.parts.calibration
    searcher, child, population = _leaning_child(calibrate_search=False)
    assert _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), population) is None
    assert child.status == "rejected" and not child.parts.calibration


def test_a_child_without_label_probabilities_is_not_read_again() -> None:
    searcher, child, population = _leaning_child(calibrate_search=True)
    child.rows["train"] = {k: CaseScore(v.score, 10) for k, v in child.rows["train"].items()}
    assert _tell(searcher, child, Ask(child, CASES[:8], "minibatch"), population) is None
    assert child.status == "rejected"


def _batch(parent: Candidate, passed: int, failed: int) -> tuple[Case, ...]:
    """A mini-batch like the searcher's: ``failed`` cases the parent failed, then
    ``passed`` it passed."""
    scores = parent.scores()
    fails = [c for c in CASES if scores[c.id] < 1.0][:failed]
    return (*fails, *[c for c in CASES if scores[c.id] >= 1.0][:passed])


def test_against_a_strong_parent_broken_successes_outweigh_fixed_failures() -> None:
    # Right on 19 of 24: a plain mean of 4 failures and 4 successes would rate a child
    # right on 3 and 2 of them (0.62) above the parent (0.50); weighted, it is worse.
    parent = _scored(0, {c.id: float(i % 5 != 0) for i, c in enumerate(CASES)})
    parent.status = "accepted"
    batch = _batch(parent, passed=4, failed=4)
    child = _scored(1, {c.id: float(n in (0, 1, 2, 4, 5)) for n, c in enumerate(batch)})
    child.parents = (0,)
    searcher = EvolutionSearcher(_space(), [])
    assert _tell(searcher, child, Ask(child, batch, "minibatch"), Population([parent])) is None
    assert child.status == "rejected" and "vs #0 0.79" in child.note


def test_against_a_weak_parent_a_child_right_on_half_of_both_kinds_is_better() -> None:
    # Right on 6 of 24: a child right on 2 of 4 failures and 2 of 4 successes ties a plain
    # mean (0.50 each) but is right on about half of all the parent's cases, not a quarter.
    parent = _scored(0, {c.id: float(i % 4 == 0) for i, c in enumerate(CASES)})
    parent.status = "accepted"
    batch = _batch(parent, passed=4, failed=4)
    child = _scored(1, {c.id: float(n in (0, 1, 4, 5)) for n, c in enumerate(batch)})
    child.parents = (0,)
    searcher = EvolutionSearcher(_space(), [])
    rest = _tell(searcher, child, Ask(child, batch, "minibatch"), Population([parent]))
    assert rest is not None and rest.stage == "pareto"
    assert "8 cases 0.50 vs #0 0.25" in child.note
