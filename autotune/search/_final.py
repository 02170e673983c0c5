"""After the search: finalists on validation, ablation of the winner, the test split once.

* Finalists are the best few accepted candidates by their search score (training
  cases); they and the seed are scored on validation and compared on every case they
  were scored on, search and validation pooled. Choosing among a few, on 80 cases
  rather than a 50-case validation split alone, keeps chance from inflating the
  winner; among finalists ties go to the shorter prompt. The best finalist replaces
  the seed only when it is clearly better: the paired 95% bootstrap interval of its
  gain on the cases both were scored on lies above zero. Measured on a second cut
  of SST-2, a label guide that merely scored higher (0.72 vs 0.64 on validation)
  lost 9 points to the seed held out.
* On a label task every comparison here weighs each expected label equally (the mean
  of per-label means). A small model often leans to one label, and a split that
  happens to hold more of it would otherwise crown the prompt that leans hardest:
  measured on SST-2, a validation split 62% negative chose a winner that scored 0.74
  there and 0.57 on a 57% positive test split.
* Ablation: first the winner's whole instruction is put back to the seed's (same
  demos and framing): the searched text stays only if it is clearly better on
  validation (the same paired interval), so the Meta-LLM's words reach a winner only
  where they beat the user's own
  (measured on AG News: a winner's steps "1. The AI model is an AI-powered news
  reader ..." scored 0.64 on validation, the seed's one line with its demos 0.68).
  Then every part is removed in turn and kept only if its removal lowers the
  validation score (ties go to the shorter prompt), so no junk section survives into
  a winner; each part's contribution is reported. A calibration is re-estimated on
  the validation inputs (labels unused) before it is judged: the search estimated it
  for the prompt before ablation (measured on AG News: a bias estimated under the
  ``Input:`` framing survived the framing's removal).
* On a label task whose backend reports label log-probabilities, the winner (the seed
  too) is offered calibrated answers, the bias estimated on the validation inputs
  (labels unused); they are kept only when clearly better on validation, by the same
  paired rule (measured on AG News: the seed's 0.23 becomes 0.59 calibrated).
* The test split is touched here and nowhere else: only the winner and the seed are
  scored on it, once, so the reported gain is an honest held-out number.

The phase has its own budget, spent so that the test split is always scored: a
finalist or an ablation step that would leave too few calls for the test split is
skipped and listed as unscored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from autotune.bench.case import Case
from autotune.errors import BudgetExceeded
from autotune.evaluate.calibration import Bias, estimate_bias, same_bias
from autotune.evaluate.results import EvalResult, UnusableResult, paired_scored
from autotune.evaluate.stats import paired_bootstrap_diff_ci
from autotune.meta.section_edit import has_guide, without_guide
from autotune.search.candidate import Candidate
from autotune.search.events import Phase
from autotune.search.operators.structural import without
from autotune.search.parts import SECTIONS, PromptParts
from autotune.search.result import Contribution, Finalist, HeldOut

Score = Callable[[PromptParts, Sequence[Case]], EvalResult]
# "guide": a label task's guide sentences in the Context (see LabelGuide), tried
# apart from the rest of the Context so the seed's instruction cannot shelter them.
# "instruction": every instruction section back to the seed's at once.
# "bias": a calibration estimated for the prompt as searched is stale once ablation
# changed what the model sees; "removing" it re-estimates it on the validation inputs
# (their labels unused), so the calibration step then judges a current one.
ABLATION_ORDER = (
    "instruction", "examples", "steps", "persona", "guide", "context", "format", "demos",
    "framing", "bias", "calibration",
)  # fmt: skip
_TIE = 1e-9


@dataclass
class Scored:
    """A prompt with its validation result."""

    parts: PromptParts
    number: int | None
    validation: EvalResult
    search: float | None = None
    search_scores: Mapping[str, float] = field(default_factory=dict)

    def validation_scores(self) -> dict[str, float]:
        """Scored validation cases: case id to score."""
        return {row.case_id: row.score for row in self.validation.rows if row.error is None}

    def pooled_scores(self) -> dict[str, float]:
        """Scored search and validation cases: case id to score."""
        return {**self.search_scores, **self.validation_scores()}

    def pooled(self, label_of: Mapping[str, str]) -> float:
        """Mean over its scored validation and search cases (label-balanced, see above)."""
        return balanced_mean(self.pooled_scores(), label_of)

    def score(self, label_of: Mapping[str, str]) -> float:
        """Its validation score (label-balanced, see above)."""
        return balanced_mean(self.validation_scores(), label_of)

    def tokens(self) -> float:
        rows = [row for row in self.validation.rows if row.error is None]
        return sum(row.prompt_tokens for row in rows) / len(rows) if rows else 0.0


@dataclass
class FinalOutcome:
    """What the final phase found."""

    seed: Scored
    winner: Scored
    finalists: list[Finalist] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)
    held_out: HeldOut | None = None
    unscored: list[str] = field(default_factory=list)


@dataclass
class FinalPhase:
    """Runs the final phase with ``score`` (which carries the phase's own budget)."""

    score: Score
    n_finalists: int
    ablate: bool
    calibrate: bool = False
    calls_left: Callable[[], float] = lambda: float("inf")
    bootstrap_seed: int = 0
    label_of: Mapping[str, str] = field(default_factory=dict)
    on_phase: Callable[[Phase, int, int], None] = lambda phase, done, total: None
    _exhausted: bool = False
    _reserve: int = 0

    def run(
        self,
        seed: PromptParts,
        ranked: Sequence[Candidate],
        validation: Sequence[Case],
        test: Sequence[Case],
    ) -> FinalOutcome:
        self._reserve = 2 * len(test)  # the test split is scored whatever else is skipped
        outcome = self._select(seed, ranked, validation)
        if self.ablate and outcome.winner.number is not None:
            self._ablate(outcome, seed, validation)
        if self.calibrate:
            self._calibrate(outcome, validation)
        self._reserve = 0
        if test:
            self._held_out(outcome, test)
        return outcome

    def _try(
        self, outcome: FinalOutcome, what: str, parts: PromptParts, cases: Sequence[Case]
    ) -> EvalResult | None:
        """Score, or note ``what`` as unscored when the budget cannot cover it."""
        if not self._exhausted and self.calls_left() >= len(cases) + self._reserve:
            try:
                return self.score(parts, cases)
            except BudgetExceeded:
                self._exhausted = True
            except UnusableResult as exc:
                if what.startswith("test split"):
                    raise  # no honest held-out number without the test split
                outcome.unscored.append(f"{what} ({exc.reason})")
                return None
        outcome.unscored.append(what)
        return None

    def _select(
        self, seed: PromptParts, ranked: Sequence[Candidate], validation: Sequence[Case]
    ) -> FinalOutcome:
        seed_result = self.score(seed, validation)  # without it nothing can be reported
        known = [c for c in ranked if c.parts.fingerprint() == seed.fingerprint()]
        seed_search = known[0].scores() if known else {}
        seed_scored = Scored(seed, None, seed_result, search_scores=seed_search)
        outcome = FinalOutcome(seed_scored, seed_scored)
        finalists = self._finalists(seed, ranked)
        outcome.finalists.append(Finalist(None, seed_result.mean, None, outcome.seed.tokens()))
        for done, candidate in enumerate(finalists, start=1):
            self.on_phase("finalists", done - 1, len(finalists))
            result = self._try(
                outcome, f"finalist #{candidate.number}", candidate.parts, validation
            )
            if result is None:
                continue
            scored = Scored(
                candidate.parts,
                candidate.number,
                result,
                candidate.value,
                candidate.scores(),
            )
            outcome.finalists.append(
                Finalist(candidate.number, result.mean, candidate.value, scored.tokens())
            )
            if _better(scored, outcome.winner, self.label_of):
                outcome.winner = scored
        winner, seed_scored = outcome.winner, outcome.seed
        if winner.pooled(self.label_of) <= seed_scored.pooled(self.label_of) + _TIE or not (
            self._clearly_better(winner.pooled_scores(), seed_scored.pooled_scores())
        ):
            outcome.winner = seed_scored  # a change must beat the seed to replace it
        return outcome

    def _finalists(self, seed: PromptParts, ranked: Sequence[Candidate]) -> list[Candidate]:
        """The best candidates but the seed, each a different prompt. When the winner is
        offered calibrated answers anyway, one that differs from the seed or a better
        finalist only in its calibration takes no slot: it would send the same requests
        and only read them differently. In round 6's four runs this changed no outcome."""

        def prompt(parts: PromptParts) -> str:
            return (parts.with_(calibration=()) if self.calibrate else parts).fingerprint()

        taken = {prompt(seed)}
        chosen: list[Candidate] = []
        for candidate in ranked:
            if len(chosen) == self.n_finalists:
                break
            if (key := prompt(candidate.parts)) not in taken:
                taken.add(key)
                chosen.append(candidate)
        return chosen

    def _ablate(self, outcome: FinalOutcome, seed: PromptParts, validation: Sequence[Case]) -> None:
        """Greedy backward elimination of the winner's parts on validation."""
        current = outcome.winner
        labels = sorted(set(self.label_of.values()))
        for index, part in enumerate(ABLATION_ORDER):
            # Asked afresh each step: the seed's instruction put back changes the parts.
            left = [p for p in ABLATION_ORDER[index:] if _removable(current, p, seed, labels)]
            if part not in left:
                continue
            done = len(outcome.contributions)
            self.on_phase("ablation", done, done + len(left))
            reduced = _remove(current, part, seed, labels)
            result = self._try(outcome, f"ablation of {part}", reduced, validation)
            if result is None:
                continue
            reduced_scored = Scored(reduced, current.number, result, current.search)
            with_part, without_part = (
                current.score(self.label_of),
                reduced_scored.score(self.label_of),
            )
            kept = without_part < with_part - _TIE
            if part == "instruction":  # the searched words against the user's own
                kept = kept and self._clearly_better(
                    current.validation_scores(), reduced_scored.validation_scores()
                )
            outcome.contributions.append(Contribution(part, with_part, without_part, kept))
            if not kept:
                current = reduced_scored
        outcome.winner = current

    def _calibrate(self, outcome: FinalOutcome, validation: Sequence[Case]) -> None:
        """Offer the winner calibrated answers, the bias estimated on the validation
        inputs (labels unused); kept only when clearly better there, as a change to the
        seed must be. Its requests are the winner's, so they come from the cache."""
        current = outcome.winner
        bias = None if current.parts.calibration else _fresh_bias(current)
        if bias is None:
            return
        calibrated = current.parts.with_(calibration=bias)
        result = self._try(outcome, "calibration", calibrated, validation)
        if result is None:
            return
        candidate = Scored(calibrated, current.number, result, current.search)
        with_it, without = candidate.score(self.label_of), current.score(self.label_of)
        kept = with_it > without + _TIE and self._clearly_better(
            candidate.validation_scores(), current.validation_scores()
        )
        outcome.contributions.append(Contribution("calibration", with_it, without, kept))
        if kept:
            outcome.winner = candidate

    def _clearly_better(self, challenger: Mapping[str, float], holder: Mapping[str, float]) -> bool:
        """The paired 95% interval of ``challenger - holder`` on their common cases lies
        above zero."""
        common = sorted(set(challenger) & set(holder))
        if not common:
            return False
        _, low, _ = paired_bootstrap_diff_ci(
            [challenger[c] for c in common], [holder[c] for c in common], seed=self.bootstrap_seed
        )
        return low > 0

    def _held_out(self, outcome: FinalOutcome, test: Sequence[Case]) -> None:
        self.on_phase("held-out", 0, 2)
        seed_result = self._try(outcome, "test split (seed)", outcome.seed.parts, test)
        same = outcome.winner.parts.fingerprint() == outcome.seed.parts.fingerprint()
        best_result = seed_result
        if not same and seed_result is not None:
            self.on_phase("held-out", 1, 2)
            best_result = self._try(outcome, "test split (winner)", outcome.winner.parts, test)
        if seed_result is None or best_result is None:
            return
        best, base = paired_scored(best_result, seed_result)
        gain, low, high = paired_bootstrap_diff_ci(best, base, seed=self.bootstrap_seed)
        outcome.held_out = HeldOut(seed_result, best_result, gain, low, high)


def balanced_mean(scores: Mapping[str, float], label_of: Mapping[str, str]) -> float:
    """The mean of ``scores``; with labels known for every case, the mean of per-label
    means (each expected label weighs the same). NaN when nothing is scored."""
    if not scores:
        return float("nan")
    if not label_of or any(case not in label_of for case in scores):
        return sum(scores.values()) / len(scores)
    by_label: dict[str, list[float]] = defaultdict(list)
    for case, value in scores.items():
        by_label[label_of[case]].append(value)
    return sum(sum(v) / len(v) for v in by_label.values()) / len(by_label)


def _better(challenger: Scored, holder: Scored, label_of: Mapping[str, str]) -> bool:
    """Higher pooled score; on a tie, fewer prompt tokens."""
    a, b = challenger.pooled(label_of), holder.pooled(label_of)
    return a > b + _TIE or (abs(a - b) <= _TIE and challenger.tokens() < holder.tokens())


def _removable(current: Scored, part: str, seed: PromptParts, labels: Sequence[str]) -> bool:
    parts = current.parts
    if part == "bias":
        fresh = _fresh_bias(current) if parts.calibration else None
        return fresh is not None and not same_bias(fresh, parts.calibration)
    if part == "instruction":
        return any(parts.section(name) != seed.section(name) for name in SECTIONS)
    if part == "framing":
        return parts.user_template != seed.user_template
    if part == "guide":
        return has_guide(parts.context, labels)
    return part in parts.present()


def _fresh_bias(current: Scored) -> Bias | None:
    """A bias for the prompt, estimated on its validation inputs (labels unused)."""
    rows = [row.choice_logprobs for row in current.validation.rows if row.error is None]
    return estimate_bias([found for found in rows if found is not None])


def _remove(current: Scored, part: str, seed: PromptParts, labels: Sequence[str]) -> PromptParts:
    """The current winner without ``part`` (the instruction and the framing: back to the
    seed's; the bias: re-estimated)."""
    parts = current.parts
    if part == "bias":
        return parts.with_(calibration=_fresh_bias(current) or parts.calibration)
    if part == "instruction":
        return parts.with_(**{name: seed.section(name) for name in SECTIONS})
    if part == "framing":
        return parts.with_(user_template=seed.user_template)
    if part == "guide":
        return parts.with_(context=without_guide(parts.context, labels))
    return without(parts, part)
