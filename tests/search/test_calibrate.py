"""The calibrate operator and a calibration's way through candidates and the final phase."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import pytest

from autotune.bench.case import Case
from autotune.evaluate.calibration import MIN_INPUTS
from autotune.evaluate.results import CaseResult, EvalResult
from autotune.search._final import FinalPhase
from autotune.search._record import result_of
from autotune.search.candidate import Candidate, CaseScore
from autotune.search.operators.base import OperatorContext
from autotune.search.operators.calibrate import Calibrate
from autotune.search.operators.structural import without
from autotune.search.parts import PromptParts
from autotune.search.population import Population

SEED = PromptParts(context="Classify the text.", user_template="{text}")
NO_CONTEXT = cast(OperatorContext, None)  # the operator reads only its parent


def _logprobs(p_positive: float) -> dict[str, float]:
    return {"positive": math.log(p_positive), "negative": math.log(1 - p_positive)}


def _parent(parts: PromptParts, n_cases: int, with_logprobs: bool = True) -> Candidate:
    rows = {
        f"c{i}": CaseScore(1.0, 10, _logprobs(0.9 if i % 2 else 0.5) if with_logprobs else None)
        for i in range(n_cases)
    }
    return Candidate(3, parts, status="accepted", rows={"train": rows})


def test_a_child_is_calibrated_on_its_parents_search_cases() -> None:
    parent = _parent(SEED, MIN_INPUTS)
    operator = Calibrate()
    assert operator.targets(parent, NO_CONTEXT) == ["calibrate"]
    child = operator.apply(parent, "calibrate", NO_CONTEXT)
    assert child.parts is not None and child.parents == (3,)
    bias = dict(child.parts.calibration)
    assert math.isclose(bias["positive"], math.log(0.7))
    assert child.parts.with_(calibration=()) == SEED  # nothing else changed


def test_no_calibration_without_enough_label_probabilities_or_when_already_set() -> None:
    operator = Calibrate()
    assert operator.targets(_parent(SEED, MIN_INPUTS - 1), NO_CONTEXT) == []
    assert operator.targets(_parent(SEED, 20, with_logprobs=False), NO_CONTEXT) == []
    done = operator.apply(_parent(SEED, MIN_INPUTS), "calibrate", NO_CONTEXT).parts
    assert done is not None
    assert operator.targets(_parent(done, MIN_INPUTS), NO_CONTEXT) == []


def test_label_probabilities_and_the_calibration_survive_the_study_record() -> None:
    parent = _parent(SEED.with_(calibration=(("positive", -0.4), ("negative", -1.1))), 3)
    again = Candidate.from_record(parent.number, parent.to_record())
    assert again.parts == parent.parts
    assert again.label_logprobs() == [
        {k: round(v, 4) for k, v in row.items()} for row in parent.label_logprobs()
    ]
    assert without(parent.parts, "calibration") == SEED
    assert "calibration" in parent.parts.present()


VALIDATION = tuple(Case(f"v{i}", {"text": f"t{i}"}, "negative") for i in range(20))
TEST = tuple(Case(f"t{i}", {"text": f"t{i}"}, "negative") for i in range(4))
GOOD = "Negative texts are about dull films."
BIAS = (("positive", -0.4), ("negative", -1.1))


def _score(calibration_helps: bool) -> object:
    """Half the cases right; a good Context adds a quarter, and so does a calibration
    that helps."""

    def right(parts: PromptParts, i: int) -> bool:
        calibrated = calibration_helps and bool(parts.calibration)
        return i % 2 == 0 or (GOOD in parts.context and i % 4 == 1) or (calibrated and i % 4 == 3)

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        rows = [
            CaseResult(c.id, {}, "", "x", c.expected, float(right(parts, i)), prompt_tokens=10)
            for i, c in enumerate(cases)
        ]
        return EvalResult.from_rows(rows, ["label"])

    return score


def _final_winner(calibration_helps: bool) -> PromptParts:
    def rows(value: float) -> dict[str, dict[str, CaseScore]]:
        return {"train": {f"c{i}": CaseScore(value, 10) for i in range(10)}}

    good = SEED.with_(context=f"Classify the text. {GOOD}", calibration=BIAS)
    finalist = Candidate(4, good, operator="calibrate", status="accepted", rows=rows(1.0))
    seed = Candidate(0, SEED, status="accepted", rows=rows(0.5))
    phase = FinalPhase(_score(calibration_helps), n_finalists=1, ablate=True)  # type: ignore[arg-type]
    outcome = phase.run(SEED, [finalist, seed], VALIDATION, TEST)
    assert GOOD in outcome.winner.parts.context
    return outcome.winner.parts


def test_the_final_phase_keeps_a_calibration_only_where_it_pays() -> None:
    assert _final_winner(calibration_helps=True).calibration == BIAS
    assert _final_winner(calibration_helps=False).calibration == ()


def test_a_stale_calibration_is_re_estimated_on_the_validation_inputs() -> None:
    fresh = (("positive", math.log(0.7)), ("negative", math.log(0.3)))

    def right(parts: PromptParts, i: int) -> bool:
        current = len(parts.calibration) == 2 and all(
            math.isclose(a, b, abs_tol=1e-6)
            for (_, a), (_, b) in zip(parts.calibration, fresh, strict=True)
        )
        return i % 2 == 0 or (GOOD in parts.context and i % 4 == 1) or (current and i % 4 == 3)

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        rows = [
            CaseResult(c.id, {}, "", "x", c.expected, float(right(parts, i)), prompt_tokens=10)
            for i, c in enumerate(cases)
        ]
        for row in rows:  # the same lean on every input: the fresh bias is (0.7, 0.3)
            row.choice_logprobs = dict(fresh)
        return EvalResult.from_rows(rows, ["label"])

    rows = {"train": {f"c{i}": CaseScore(1.0, 10) for i in range(10)}}
    stale = SEED.with_(context=f"Classify the text. {GOOD}", calibration=BIAS)
    finalist = Candidate(4, stale, operator="calibrate", status="accepted", rows=rows)
    phase = FinalPhase(score, n_finalists=1, ablate=True)  # type: ignore[arg-type]
    outcome = phase.run(SEED, [finalist], VALIDATION, TEST)
    contributions = {c.part: c for c in outcome.contributions}
    assert contributions["bias"].kept is False  # replaced: 1.0 with the fresh one, 0.75 stale
    assert contributions["bias"].verdict == "re-estimated"
    assert contributions["calibration"].kept is True
    assert dict(outcome.winner.parts.calibration) == pytest.approx(dict(fresh))


def _leaning_score(calibration_helps: bool) -> object:
    """Half the cases right; a quarter more once answers are calibrated, if that helps.
    Every input leans the same way, so the bias is (0.7, 0.3)."""

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        lifted = calibration_helps and bool(parts.calibration)
        rows = [
            CaseResult(c.id, {}, "", "x", c.expected, float(i % 2 == 0 or (lifted and i % 4 == 1)))
            for i, c in enumerate(cases)
        ]
        for row in rows:
            row.choice_logprobs = {"positive": math.log(0.7), "negative": math.log(0.3)}
        return EvalResult.from_rows(rows, ["label"])

    return score


def test_the_final_phase_offers_the_seed_calibrated_answers_kept_only_when_clearly_better() -> None:
    seed_only = Candidate(0, SEED, status="accepted", rows={"train": {"c0": CaseScore(0.5, 10)}})
    for helps in (True, False):
        phase = FinalPhase(_leaning_score(helps), n_finalists=1, ablate=True, calibrate=True)  # type: ignore[arg-type]
        outcome = phase.run(SEED, [seed_only], VALIDATION, TEST)
        assert outcome.winner.number is None  # still the seed's words
        assert [c.part for c in outcome.contributions] == ["calibration"]
        assert outcome.contributions[0].kept is helps
        assert bool(outcome.winner.parts.calibration) is helps
        result = result_of(
            "s", "evolution", SEED.to_prompt("seed"), outcome, Population([seed_only]), {}, "run"
        )
        assert bool(result.best_prompt.calibration) is helps
        assert result.best_prompt.system == "Classify the text."
