"""HTML reports from a real MLflow store and Optuna study, opened in headless Chromium."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest
from report_doubles import (
    make_cases,
    prompt,
    rendered_dom,
    run_study,
    screenshot,
)

from autotune.errors import ConfigError
from autotune.llm.fake import ScriptedLLM
from autotune.metrics.base import MetricSet
from autotune.report import Variant, compare, load_report_data, render_report, write_report
from autotune.report._plots import best_so_far
from autotune.search.result import OptimizationResult
from autotune.tracking import MlflowTracker, log_eval


@dataclass
class Store:
    uri: str
    storage: str
    study: OptimizationResult


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, metrics_module: MetricSet) -> Store:
    folder = tmp_path_factory.mktemp("store")
    uri = "sqlite:///" + (folder / "mlflow.db").as_posix()
    storage = "sqlite:///" + (folder / "optuna.db").as_posix()
    study = run_study(storage, metrics_module, MlflowTracker(uri))
    return Store(uri, storage, study)


@pytest.fixture(scope="module")
def metrics_module() -> MetricSet:
    from autotune.metrics.base import WeightedMetric
    from autotune.metrics.label import LabelMatch

    return MetricSet([WeightedMetric(LabelMatch(labels=("positive", "negative")))])


def test_a_study_report_has_every_trial_the_seed_and_the_best_prompt(store: Store) -> None:
    parent = store.study.parent_run_id
    assert parent is not None
    data = load_report_data(parent, tracking_uri=store.uri)

    assert data.kind == "study" and data.title == "Study toy"
    assert [row.number for row in data.rows] == list(range(6))
    assert all(row.case_scores for row in data.rows if row.state == "accepted")
    seed = data.rows[0]  # right on positive cases only
    assert seed.case_scores and seed.score == pytest.approx(
        statistics.fmean(seed.case_scores.values())
    )
    assert min(seed.case_scores.values()) == 0.0 and max(seed.case_scores.values()) == 1.0
    assert max(row.score or 0 for row in data.rows) == 1.0  # a refined prompt
    assert all(row.tokens > 0 and row.calls > 0 for row in data.rows if row.case_scores)
    assert data.before is not None and "Classify the text." in data.before[1]
    assert data.after is not None and "CAREFULLY" in data.after[1]
    held = store.study.held_out
    assert held is not None
    assert data.facts["seed (test)"] == f"{held.seed.mean:.3f}" != data.facts["best (test)"]
    assert data.facts["best (test)"] == "1.000"
    by_name = load_report_data("toy", tracking_uri=store.uri)
    assert [row.run_id for row in by_name.rows] == [row.run_id for row in data.rows]


def test_best_so_far_follows_completed_trials_only(store: Store) -> None:
    data = load_report_data("toy", tracking_uri=store.uri)
    xs, ys = best_so_far(data.rows)
    complete = [row for row in data.rows if row.state == "accepted"]
    assert xs == [row.number for row in complete]
    assert ys == sorted(ys) and ys[-1] == 1.0


def test_the_report_renders_its_plots_table_and_diff_in_chromium(
    store: Store, tmp_path: Path, chromium: str
) -> None:
    assert store.study.parent_run_id is not None
    out = tmp_path / "report.html"
    page = write_report(
        store.study.parent_run_id, out, tracking_uri=store.uri, storage=store.storage
    )
    source = page.read_text()
    # plotly.js comes from the shared file beside the page (no CDN); the page is small.
    assert re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", source) == ["plotly.min.js"]
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert len(source) < 200_000

    dom = rendered_dom(chromium, page, tmp_path / "profile")
    # Plotly builds these only when its JavaScript ran: five figures, each drawn
    # (scores, cases, cost, Optuna's importances and parallel coordinates).
    assert dom.count('class="plot-container plotly"') == 5
    assert 'id="plot-importances"' in dom and 'id="plot-parallel"' in dom
    assert dom.count('class="main-svg"') >= 10
    assert 'class="heatmap' in dom or "heatmaplayer" in dom
    assert dom.count('<tr class="best">') == 1
    assert len(re.findall(r"<td>candidate \d+</td>", dom)) == 6
    assert 'id="diff"' in dom and "CAREFULLY" in dom and "Classify the text." in dom
    shot = screenshot(chromium, page, tmp_path / "profile", tmp_path / "report.png")
    assert shot.stat().st_size > 20_000
    inline = write_report(
        store.study.parent_run_id, tmp_path / "one.html", tracking_uri=store.uri, inline=True
    )
    assert "<script src=" not in inline.read_text() and inline.stat().st_size > 1_000_000


def test_trial_axes_are_whole_numbers_and_trials_have_intervals(store: Store) -> None:
    from autotune.report._plots import score_figure

    data = load_report_data("toy", tracking_uri=store.uri)
    axis = score_figure(data).layout.xaxis
    assert axis.tickformat == "d" and axis.dtick == 1
    scored = [row for row in data.rows if row.case_scores and row.score is not None]
    assert scored and all(row.ci is not None for row in scored)
    assert all(row.ci[0] <= row.score <= row.ci[1] for row in scored if row.ci)


def test_a_study_without_mlflow_is_read_from_optuna(tmp_path: Path, metrics: MetricSet) -> None:
    storage = "sqlite:///" + (tmp_path / "optuna.db").as_posix()
    run_study(storage, metrics, name="offline")
    empty_store = "sqlite:///" + (tmp_path / "none" / "mlflow.db").as_posix()

    data = load_report_data("offline", tracking_uri=empty_store, storage=storage)
    assert data.kind == "study" and len(data.rows) == 6
    assert data.rows[0].score is not None and data.rows[0].score < 1.0  # the seed
    assert max(row.score or 0.0 for row in data.rows) == 1.0
    assert data.before is not None and "Classify the text." in data.before[1]
    assert data.after is not None and "CAREFULLY" in data.after[1]
    page = render_report(data)
    assert 'id="plot-scores"' in page and 'id="plot-cases"' not in page  # no case tables
    assert not (tmp_path / "none").exists()  # looking did not create a store


def test_a_comparison_report_from_its_group_or_any_of_its_runs(
    tmp_path: Path, llm: ScriptedLLM, metrics: MetricSet
) -> None:
    uri = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    variants = [Variant("bad", prompt("BAD"), llm), Variant("good", prompt("GOOD"), llm)]
    result = compare(variants, make_cases(6), metrics, tracker=MlflowTracker(uri))

    for target in (result.group_id, result.variants[1].run_id):
        data = load_report_data(target, tracking_uri=uri)
        assert data.kind == "compare"
        assert [row.label for row in data.rows] == ["bad", "good"]
        assert data.rows[1].ci == (1.0, 1.0) and len(data.rows[0].case_scores) == 6
        assert data.before is not None and data.before[0] == "bad"
        assert data.after is not None and data.after[0] == "good"
    page = render_report(load_report_data(result.group_id, tracking_uri=uri))
    assert 'id="plot-cases"' in page and "Prompt: bad → good" in page


def test_an_eval_run_report_shows_its_prompt(
    tmp_path: Path, llm: ScriptedLLM, metrics: MetricSet
) -> None:
    from autotune.evaluate import Evaluator

    uri = "sqlite:///" + (tmp_path / "mlflow.db").as_posix()
    good = prompt("GOOD label")
    result = Evaluator(llm, metrics).evaluate(good, make_cases(3))
    run_id = log_eval(result, good, params={"model": "fake:rules"}, tracking_uri=uri)

    data = load_report_data(run_id, tracking_uri=uri)
    assert data.kind == "eval" and data.rows[0].score == 1.0
    assert data.facts["model"] == "fake:rules"
    assert data.before is None and data.after is not None and "GOOD label" in data.after[1]


def test_an_unknown_target_is_a_one_line_error(tmp_path: Path, store: Store) -> None:
    with pytest.raises(ConfigError, match="no MLflow run, comparison or Optuna study named 'x'"):
        load_report_data("x", tracking_uri=store.uri, storage=store.storage)
    missing = "sqlite:///" + (tmp_path / "missing.db").as_posix()
    with pytest.raises(ConfigError, match="Optuna storage not found"):
        load_report_data("x", tracking_uri=store.uri, storage=missing)
