"""The final phase: finalists meet the seed on validation, junk is ablated away."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autotune.bench.case import Case
from autotune.evaluate.results import CaseResult, EvalResult
from autotune.prompt import Demo
from autotune.search._final import FinalPhase, balanced_mean
from autotune.search.candidate import Candidate, CaseScore
from autotune.search.parts import PromptParts

VALIDATION = tuple(Case(f"v{i}", {"text": f"review {i}"}, "negative") for i in range(10))
TEST = tuple(Case(f"t{i}", {"text": f"review {i}"}, "negative") for i in range(10))
SEED = PromptParts(context="Classify the text.", user_template="{text}")
GOOD = "negative texts are about dull and boring films."
JUNK = "You are Specter, a very special person who has helped me."


def scored(cases: Sequence[Case], value: Callable[[int, Case], float], tokens: int) -> EvalResult:
    """An evaluation of ``cases``: case i scores ``value(i, case)``, every prompt
    ``tokens`` long."""
    rows = [
        CaseResult(c.id, dict(c.inputs), "", "x", c.expected, value(i, c), prompt_tokens=tokens)
        for i, c in enumerate(cases)
    ]
    return EvalResult.from_rows(rows, ["label"])


def scripted_score(calls: list[PromptParts]) -> object:
    """Right on every case when the Context says what negative texts are about."""

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        calls.append(parts)
        good = GOOD in parts.context
        tokens = len(parts.system_text().split()) + 3 * len(parts.demos)
        return scored(cases, lambda i, c: 1.0 if good else 0.5, tokens)

    return score


def accepted(number: int, parts: PromptParts, value: float) -> Candidate:
    rows = {"train": {"c0": CaseScore(value, 10)}}
    return Candidate(number, parts, operator="rewrite:context", status="accepted", rows=rows)


def test_a_planted_junk_section_is_ablated_away_and_reported() -> None:
    calls: list[PromptParts] = []
    junky = SEED.with_(
        persona=JUNK,
        context=f"Classify the text. {GOOD}",
        demos=(Demo.of({"text": "dull"}, "negative"),),
    )
    phase = FinalPhase(scripted_score(calls), n_finalists=2, ablate=True)  # type: ignore[arg-type]
    outcome = phase.run(SEED, [accepted(5, junky, 1.0)], VALIDATION, TEST)

    winner = outcome.winner.parts
    assert JUNK not in winner.system_text() and winner.persona == ""
    assert GOOD in winner.context  # it earns its place: removing it costs 50 points
    contributions = {c.part: c for c in outcome.contributions}
    assert contributions["persona"].kept is False and contributions["persona"].contribution == 0
    assert contributions["context"].kept is True and contributions["context"].contribution == 0.5
    assert contributions["demos"].kept is False  # no gain from the demo: the shorter prompt
    assert outcome.held_out is not None and outcome.held_out.gain == 0.5


def test_the_seed_keeps_the_title_on_a_tie_and_is_tested_once() -> None:
    calls: list[PromptParts] = []
    same = SEED.with_(persona="You are a reader.")
    phase = FinalPhase(scripted_score(calls), n_finalists=3, ablate=True)  # type: ignore[arg-type]
    outcome = phase.run(SEED, [accepted(3, same, 0.5)], VALIDATION, TEST)
    assert outcome.winner.number is None and outcome.contributions == []
    assert outcome.held_out is not None and outcome.held_out.gain == 0.0
    assert calls.count(SEED) == 2  # validation and test, no second test run for the "winner"


def test_a_tight_final_budget_still_scores_the_test_split() -> None:
    calls: list[PromptParts] = []
    used = {"n": 0}

    def counted(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        used["n"] += len(cases)
        return scripted_score(calls)(parts, cases)  # type: ignore[operator, no-any-return]

    budget = 10 + 10 + 2 * 10  # seed and one finalist on validation, then the test split
    better = SEED.with_(context=f"Classify the text. {GOOD}", persona="You are a reader.")
    phase = FinalPhase(counted, n_finalists=2, ablate=True, calls_left=lambda: budget - used["n"])
    outcome = phase.run(SEED, [accepted(1, better, 1.0)], VALIDATION, TEST)
    assert outcome.held_out is not None and outcome.held_out.gain == 0.5
    assert used["n"] <= budget
    assert outcome.unscored and all(item.startswith("ablation") for item in outcome.unscored)


def test_a_finalist_lucky_on_validation_alone_does_not_beat_the_seed_on_pooled_cases() -> None:
    """Validation and search cases are pooled: a finalist one case ahead on validation
    but well behind on its search cases loses to the seed."""
    lucky = SEED.with_(persona="You are a reader.")

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        right = 6 if parts == lucky else 5
        return scored(cases, lambda i, c: 1.0 if i < right else 0.0, 10)

    def search_rows(right: int) -> dict[str, dict[str, CaseScore]]:
        return {"train": {f"c{i}": CaseScore(1.0 if i < right else 0.0, 10) for i in range(10)}}

    seed = Candidate(0, SEED, operator="seed", status="accepted", rows=search_rows(8))
    finalist = Candidate(4, lucky, operator="rewrite:persona", status="accepted",
                         rows=search_rows(5))  # fmt: skip
    outcome = FinalPhase(score, n_finalists=2, ablate=False).run(
        SEED, [seed, finalist], VALIDATION, ()
    )
    assert outcome.winner.number is None  # 13/20 for the seed against 11/20
    alone = FinalPhase(score, n_finalists=2, ablate=False).run(SEED, [finalist], VALIDATION, ())
    assert alone.winner.number is None  # validation alone: one case ahead is no evidence


def _right_on(right: set[int]) -> object:
    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        hits = right if parts.persona else set(range(0, 50, 2))  # the seed: every other case
        return scored(cases, lambda i, c: float(i in hits), 10)

    return score


def test_a_finalist_replaces_the_seed_only_when_clearly_better() -> None:
    """A second cut of SST-2 crowned a guide that scored 0.72 against the seed's 0.64
    on validation and lost 9 points to it held out: a higher score is not enough."""
    validation = tuple(Case(f"v{i}", {"text": f"review {i}"}, "negative") for i in range(50))
    finalist = accepted(3, SEED.with_(persona="You are a reader."), 0.5)
    finalist.rows = {}
    # 29 of 50 against the seed's 25, by winning 8 cases and losing 4.
    higher = (set(range(0, 50, 2)) - {0, 2, 4, 6}) | set(range(1, 17, 2))
    assert len(higher) == 29
    phase = FinalPhase(_right_on(higher), n_finalists=1, ablate=False)  # type: ignore[arg-type]
    assert phase.run(SEED, [finalist], validation, ()).winner.number is None
    clearly = set(range(0, 50, 2)) | set(range(1, 30, 2))  # 40 of 50, losing none
    phase = FinalPhase(_right_on(clearly), n_finalists=1, ablate=False)  # type: ignore[arg-type]
    assert phase.run(SEED, [finalist], validation, ()).winner.number == 3


def test_on_a_label_task_a_prompt_leaning_to_the_common_label_does_not_win() -> None:
    """Validation holds 8 negative and 2 positive cases. A prompt answering "negative"
    to all gets 0.8 of plain accuracy but 0.5 label-balanced; one right on 5 of 8
    negatives and both positives (0.7 plain, 0.81 balanced) wins."""
    cases = tuple(
        Case(f"v{i}", {"text": f"review {i}"}, "negative" if i < 8 else "positive")
        for i in range(10)
    )
    label_of = {c.id: str(c.expected) for c in cases} | {"c0": "negative"}  # a search case
    leaning = SEED.with_(persona="You are negative.")
    balanced = SEED.with_(persona="You are fair.")

    def score(parts: PromptParts, chosen: Sequence[Case]) -> EvalResult:
        def right(i: int, c: Case) -> bool:
            if parts == leaning:
                return c.expected == "negative"
            return parts == balanced and (i < 5 or c.expected == "positive")

        return scored(chosen, lambda i, c: 1.0 if right(i, c) else 0.0, 10)

    finalists = [accepted(1, leaning, 0.9), accepted(2, balanced, 0.8)]
    outcome = FinalPhase(score, n_finalists=2, ablate=False, label_of=label_of).run(
        SEED, finalists, cases, ()
    )
    assert outcome.winner.number == 2
    plain = FinalPhase(score, n_finalists=2, ablate=False).run(SEED, finalists, cases, ())
    assert plain.winner.number == 1  # by plain accuracy the leaning prompt would win (0.8)


def test_balanced_mean_weighs_each_label_equally() -> None:
    scores = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0}
    labels = {"a": "x", "b": "x", "c": "x", "d": "y"}
    assert balanced_mean(scores, labels) == 0.5
    assert balanced_mean(scores, {}) == 0.75  # no labels: the plain mean
    assert balanced_mean(scores, {"a": "x"}) == 0.75  # labels not known for all cases


def test_guide_sentences_are_ablated_apart_from_the_instruction_they_sit_beside() -> None:
    """The seed's instruction earns its place; the guide beside it in the Context does
    not, and goes alone (before, removing the whole Context kept both)."""
    instruction = "Classify the text."
    junk_guide = "positive texts are about sports. negative texts are about anime."
    winner = SEED.with_(context=f"{instruction} {junk_guide}")
    label_of = {c.id: str(c.expected) for c in VALIDATION} | {"c0": "negative", "c1": "positive"}

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        value = 1.0 if instruction in parts.context else 0.0
        return scored(cases, lambda i, c: value, len(parts.system_text().split()))

    phase = FinalPhase(score, n_finalists=1, ablate=True, label_of=label_of)
    outcome = phase.run(SEED.with_(context="Label it."), [accepted(2, winner, 1.0)], VALIDATION, ())
    assert outcome.winner.parts.context == instruction
    contributions = {c.part: c.kept for c in outcome.contributions}
    assert contributions == {"instruction": True, "guide": False, "context": True}


def test_a_searched_instruction_no_better_than_the_seeds_gives_way_to_it() -> None:
    """AG News once crowned steps a user would never deploy ("1. The AI model is an
    AI-powered news reader ..."): removing them alone cost points, but the seed's own
    line with the same demos scored as well, so the seed's words win."""
    steps = "1. The AI model is a news reader.\n2. The right answer is Science/Tech."
    demo = (Demo.of({"text": "dull"}, "negative"),)
    winner = SEED.with_(context="", steps=steps, demos=demo)

    def score(parts: PromptParts, cases: Sequence[Case]) -> EvalResult:
        instructed = SEED.context in parts.context or steps in parts.steps
        value = 1.0 if instructed and parts.demos else 0.5
        return scored(cases, lambda i, c: value, len(parts.system_text().split()))

    phase = FinalPhase(score, n_finalists=1, ablate=True)
    outcome = phase.run(SEED, [accepted(4, winner, 1.0)], VALIDATION, TEST)
    assert outcome.winner.parts == SEED.with_(demos=demo)
    kept = {c.part: c.kept for c in outcome.contributions}
    assert kept == {"instruction": False, "context": True, "demos": True}
    assert outcome.held_out is not None and outcome.held_out.gain == 0.5


def test_finalist_slots_go_to_different_prompts_not_to_calibrated_twins() -> None:
    bias = (("negative", -0.2), ("positive", -1.7))
    twin_of_seed = accepted(1, SEED.with_(calibration=bias), 0.9)
    other = SEED.with_(persona="You are a critic.")
    ranked = [
        twin_of_seed,
        accepted(2, other, 0.8),
        accepted(3, other.with_(calibration=bias), 0.7),
    ]
    ranked.append(accepted(4, SEED.with_(context=f"Classify the text. {GOOD}"), 0.6))
    calls: list[PromptParts] = []
    phase = FinalPhase(scripted_score(calls), n_finalists=2, ablate=False, calibrate=True)  # type: ignore[arg-type]
    outcome = phase.run(SEED, ranked, VALIDATION, ())
    assert [f.number for f in outcome.finalists] == [None, 2, 4]
    # Without the calibration offer a calibrated twin is a prompt of its own.
    phase = FinalPhase(scripted_score(calls), n_finalists=2, ablate=False)  # type: ignore[arg-type]
    assert [f.number for f in phase.run(SEED, ranked, VALIDATION, ()).finalists] == [None, 1, 2]
