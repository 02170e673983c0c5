"""compare(): variants on the same cases, paired differences, sibling MLflow runs, matrices."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from report_doubles import make_cases, prompt

from autotune.errors import UserInputError
from autotune.llm.fake import ScriptedLLM
from autotune.metrics.base import MetricSet
from autotune.report import Comparison, Variant, compare, write_matrix
from autotune.report.matrix import to_csv, to_html, to_markdown, variant_labels
from autotune.tracking import MlflowTracker

CASES = make_cases(12)  # 4 negatives


@pytest.fixture
def comparison(llm: ScriptedLLM, metrics: MetricSet) -> Comparison:
    variants = [
        Variant("good", prompt("GOOD label"), llm),
        Variant("bad", prompt("BAD label"), llm),
        Variant("noisy", prompt("NOISY label"), llm),
    ]
    return compare(variants, CASES, metrics, repeats=2, labels=("positive", "negative"))


def test_every_variant_answers_every_case_with_a_paired_difference(
    comparison: Comparison, llm: ScriptedLLM
) -> None:
    assert llm.calls == 3 * 12 * 2
    assert comparison.case_ids == [case.id for case in CASES]
    good, bad, noisy = comparison.variants
    assert good.result.mean == 1.0 and good.diff is None
    assert bad.result.mean == pytest.approx(1 - 4 / 12 / 2)
    assert bad.diff is not None and bad.diff.mean == pytest.approx(-4 / 12 / 2)
    assert bad.diff.high < 0
    # Noisy misses the label on one of its two samples of each negative case.
    assert noisy.result.mean == pytest.approx(1 - 4 / 12 / 4)
    assert noisy.result.rows[0].score == pytest.approx(0.75)
    assert comparison.best() is good


def test_variant_names_must_be_unique(llm: ScriptedLLM, metrics: MetricSet) -> None:
    twice = [Variant("a", prompt("GOOD"), llm), Variant("a", prompt("BAD"), llm)]
    with pytest.raises(ValueError, match="unique"):
        compare(twice, CASES, metrics)
    with pytest.raises(ValueError, match="at least one"):
        compare([], CASES, metrics)


def test_each_variant_is_a_sibling_mlflow_run_of_one_group(
    tmp_path: Path, llm: ScriptedLLM, metrics: MetricSet
) -> None:
    uri = "sqlite:///" + (tmp_path / "store" / "mlflow.db").as_posix()
    variants = [Variant("good", prompt("GOOD"), llm), Variant("bad", prompt("BAD"), llm)]
    result = compare(
        variants, CASES, metrics, tracker=MlflowTracker(uri), run_params={"bench": "toy"}
    )

    client = MlflowClient(tracking_uri=uri)
    runs = {run.info.run_id: run for run in client.search_runs(["1"])}
    assert set(runs) == {variant.run_id for variant in result.variants}
    for variant in result.variants:
        run = runs[variant.run_id]
        assert run.data.tags["autotune.compare_group"] == result.group_id
        assert run.data.tags["autotune.kind"] == "compare"
        assert run.data.params["variant"] == variant.name
        assert run.data.params["model"] == "fake:rules"
        assert run.data.params["bench"] == "toy"
        assert run.data.metrics["mean"] == pytest.approx(variant.result.mean)
        assert "mlflow.parentRunId" not in run.data.tags  # siblings, not children
    bad = runs[result.variants[1].run_id]
    assert bad.data.metrics["diff_vs_first"] == pytest.approx(-4 / 12 / 2)
    local = client.download_artifacts(bad.info.run_id, "cases.json", dst_path=str(tmp_path))
    table = json.loads(Path(local).read_text())
    assert len(table["data"]) == 12


def test_csv_matrix_has_an_output_and_score_column_per_variant(comparison: Comparison) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(comparison))))
    assert rows[0] == [
        "case_id",
        "input",
        "expected",
        "good output",
        "good score",
        "bad output",
        "bad score",
        "noisy output",
        "noisy score",
    ]
    assert rows[1] == [
        "c00",
        "item 0 felt negative",
        "negative",
        "negative",
        "1.0000",
        "positive",
        "0.5000",
        "negative",
        "0.7500",
    ]
    assert len(rows) == 13


def test_markdown_and_html_matrices_show_means_and_cases(comparison: Comparison) -> None:
    markdown = to_markdown(comparison)
    assert "| good | fake:rules | 1.000 (95% CI 1.000-1.000) |" in markdown
    assert "vs first -0.167" in markdown
    row = "| c00 | item 0 felt negative | negative | 1.00 · negative | 0.50 · positive |"
    assert row in markdown
    page = to_html(comparison)
    assert page.count("<tr><td>c") == 12
    assert "<td class=fail>0.50</td>" in page and "<td class=pass>1.00</td>" in page
    given = "<td class=in><div class=clip>item 0 felt negative</div></td>"
    assert given + "<td class=in><div class=clip>negative</div></td>" in page


def test_label_tasks_show_each_variants_answers_against_the_expected_labels(
    comparison: Comparison,
) -> None:
    # "bad" answers positive to every case (first repeat): its matrix says so at once.
    bad = variant_labels(comparison, comparison.variants[1])
    assert bad is not None and bad.columns == ("positive", "negative")
    assert bad.matrix == ((8, 0), (4, 0)) and bad.share("positive") == 1.0
    good = variant_labels(comparison, comparison.variants[0])
    assert good is not None and good.matrix == ((8, 0), (0, 4))
    markdown = to_markdown(comparison)
    assert "**bad** answered: positive 100%, negative 0%" in markdown
    assert "| negative | 4 | 0 |" in markdown
    page = to_html(comparison)
    assert page.count('<table class="confusion">') == 3
    assert '<td class="num miss">4</td>' in page


def test_write_matrix_picks_the_format_from_the_suffix(
    tmp_path: Path, comparison: Comparison
) -> None:
    assert write_matrix(comparison, tmp_path / "m.csv").read_text().startswith("case_id,")
    assert write_matrix(comparison, tmp_path / "m.md").read_text().startswith("| variant")
    with pytest.raises(UserInputError, match=r"unsupported matrix file type '\.xlsx'"):
        write_matrix(comparison, tmp_path / "m.xlsx")
