"""What a report shows, read from MLflow runs: rows (trials or variants) and two prompts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autotune.evaluate.stats import bootstrap_mean_ci
from autotune.prompt import Prompt
from autotune.report._mlflow_read import ArtifactReader, child_runs, runs_tagged
from autotune.search.reader import CANDIDATE_KIND, KIND_TAG, NUMBER_TAG, SCORE_METRIC, STATE_TAG
from autotune.tracking._records import prompt_markdown

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient


@dataclass
class ReportRow:
    """One trial of a study, or one variant of a comparison, or one eval run."""

    label: str
    run_id: str = ""
    number: int | None = None
    state: str = ""
    score: float | None = None
    ci: tuple[float, float] | None = None
    calls: float = 0.0
    tokens: float = 0.0
    usd: float = 0.0
    params: dict[str, str] = field(default_factory=dict)
    case_scores: dict[str, float] = field(default_factory=dict)
    prompt: str = ""


@dataclass
class ReportData:
    """Everything the HTML page shows.

    Attributes:
        kind: ``study``, ``compare`` or ``eval``.
        title: The page heading.
        facts: Key numbers as text (seed vs best, gain, models).
        rows: Trials (by number) or variants (in order).
        before: (label, prompt text) the diff starts from (the seed), if any.
        after: (label, prompt text) the diff ends at (the best), if any.
        study_name: The study's name (study reports), to find it in the Optuna storage.
        figures: Extra plotly figures by element id (Optuna's importances, say).
    """

    kind: str
    title: str
    facts: dict[str, str] = field(default_factory=dict)
    rows: list[ReportRow] = field(default_factory=list)
    before: tuple[str, str] | None = None
    after: tuple[str, str] | None = None
    study_name: str = ""
    figures: dict[str, Any] = field(default_factory=dict)

    def best(self) -> ReportRow | None:
        """The row with the highest score (the earliest on ties)."""
        scored = [row for row in self.rows if row.score is not None]
        return max(scored, key=lambda row: row.score or 0.0) if scored else None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _case_scores(table: Mapping[str, list[Any]] | None) -> dict[str, float]:
    if not table or "case_id" not in table or "score" not in table:
        return {}
    pairs = zip(table["case_id"], table["score"], strict=False)
    return {str(cid): score for cid, raw in pairs if (score := _number(raw)) is not None}


def case_ci(case_scores: Mapping[str, float]) -> tuple[float, float] | None:
    """The 95% bootstrap interval of the mean over a row's cases (None without cases)."""
    if not case_scores:
        return None
    _, low, high = bootstrap_mean_ci(list(case_scores.values()))
    return low, high


def _prompt_text(reader: ArtifactReader, run: Run, path: str) -> str:
    data = reader.json(run, path)
    if isinstance(data, dict):
        try:
            return prompt_markdown(Prompt.from_dict(data))
        except (KeyError, TypeError, ValueError):
            pass
    return ""


def _add_usage(row: ReportRow, metrics: Mapping[str, float]) -> ReportRow:
    tokens = metrics.get("tokens")
    if tokens is None:
        tokens = metrics.get("prompt_tokens", 0.0) + metrics.get("completion_tokens", 0.0)
    row.calls, row.tokens, row.usd = metrics.get("calls", 0.0), tokens, metrics.get("usd", 0.0)
    return row


def _trial_row(run: Run, reader: ArtifactReader) -> ReportRow:
    tags, metrics = run.data.tags, run.data.metrics
    number = int(tags.get(NUMBER_TAG, "-1"))
    score = metrics.get(SCORE_METRIC)
    run_id = run.info.run_id
    case_scores = _case_scores(reader.table(run, "cases.json"))
    row = ReportRow(
        label=f"candidate {number}",
        run_id=run_id,
        number=number,
        state=tags.get(STATE_TAG, run.info.status),
        score=score,
        ci=case_ci(case_scores) if score is not None else None,
        params=dict(run.data.params),
        case_scores=case_scores,
        prompt=_prompt_text(reader, run, "prompt.json"),
    )
    return _add_usage(row, metrics)


def _eval_row(run: Run, reader: ArtifactReader, label: str) -> ReportRow:
    metrics, run_id = run.data.metrics, run.info.run_id
    low, high = metrics.get("ci_low"), metrics.get("ci_high")
    row = ReportRow(
        label=label,
        run_id=run_id,
        state=run.info.status,
        score=metrics.get("mean"),
        ci=(low, high) if low is not None and high is not None else None,
        params=dict(run.data.params),
        case_scores=_case_scores(reader.table(run, "cases.json")),
        prompt=_prompt_text(reader, run, "prompt.json"),
    )
    return _add_usage(row, metrics)


_STUDY_FACTS = (
    ("seed_validation", "seed (validation)"),
    ("best_validation", "best (validation)"),
    ("seed_test", "seed (test)"),
    ("best_test", "best (test)"),
)


def _study_facts(parent: Run) -> dict[str, str]:
    params, metrics = parent.data.params, parent.data.metrics
    facts = {label: f"{metrics[key]:.3f}" for key, label in _STUDY_FACTS if key in metrics}
    if "gain" in metrics:
        low, high = metrics.get("gain_ci_low", math.nan), metrics.get("gain_ci_high", math.nan)
        facts["gain (test)"] = f"{metrics['gain']:+.3f} (95% CI {low:+.3f} to {high:+.3f})"
    for key in ("benchmark", "task_model", "meta_model"):
        if key in params:
            facts[key.replace("_", " ")] = params[key]
    return facts


def study_from_mlflow(client: MlflowClient, parent: Run) -> ReportData:
    """A study's parent run and its trial runs."""
    name = parent.data.tags.get("autotune.study", parent.info.run_name or parent.info.run_id)
    children = [
        run for run in child_runs(client, parent) if run.data.tags.get(KIND_TAG) == CANDIDATE_KIND
    ]
    with ArtifactReader(client) as reader:
        rows = sorted((_trial_row(run, reader) for run in children), key=lambda r: r.number or 0)
        summary = reader.json(parent, "result.json") or {}
        data = ReportData("study", f"Study {name}", _study_facts(parent), rows)
        seed = next((row.prompt for row in rows if row.number == 0 and row.prompt), "")
        if not seed:
            seed_text = reader.text(parent, "seed_prompt.md") or ""
            seed = prompt_markdown(Prompt(system=seed_text.strip(), name="seed"))
        best = _prompt_text(reader, parent, "best_prompt.json")
    best_number = summary.get("best_candidate") if isinstance(summary, dict) else None
    data.facts["candidates"] = str(len(rows))
    data.study_name = name
    data.before = ("seed prompt", seed)
    if best:
        label = "best prompt" + (f" (candidate {best_number})" if best_number is not None else "")
        data.after = (label, best)
    return data


def compare_from_mlflow(client: MlflowClient, group_id: str) -> ReportData:
    """The sibling runs of one comparison."""
    runs = runs_tagged(client, "autotune.compare_group", group_id)
    with ArtifactReader(client) as reader:
        rows = [
            _eval_row(run, reader, run.data.tags.get("autotune.variant", run.info.run_id))
            for run in runs
        ]
    data = ReportData("compare", f"Comparison {group_id[:8]}", {"variants": str(len(rows))}, rows)
    if runs:
        params = runs[0].data.params
        data.facts.update({k: params[k] for k in ("bench", "split", "repeats") if k in params})
    if rows:
        best = data.best()
        target = best if best is not None and best is not rows[0] else None
        target = target or (rows[1] if len(rows) > 1 else None)
        data.before = (rows[0].label, rows[0].prompt)
        if target is not None:
            data.after = (target.label, target.prompt)
    return data


def eval_from_mlflow(client: MlflowClient, run: Run) -> ReportData:
    """One evaluation run (or a single trial run)."""
    name = run.info.run_name or run.info.run_id
    with ArtifactReader(client) as reader:
        row = _eval_row(run, reader, name)
        if row.score is None:
            row = _trial_row(run, reader)
    data = ReportData("eval", f"Run {name}", {"run id": run.info.run_id}, [row])
    for key in ("model", "bench", "split"):
        if key in run.data.params:
            data.facts[key] = run.data.params[key]
    data.after = (row.label, row.prompt)
    return data
