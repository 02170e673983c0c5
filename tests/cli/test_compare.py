"""``autotune compare``: the terminal matrix, sibling MLflow runs, matrix files, errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cli_suites import negative_ids, sqlite_uri, write_suite
from mlflow.tracking import MlflowClient

from autotune.cli.main import main
from autotune.prompt import Prompt
from autotune.tracking.registry import register_prompt


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # room for the matrix columns
    write_suite(tmp_path)
    return tmp_path


def compare(*extra: str) -> int:
    return main(["compare", "--bench", "suite.toml", "--model", "fake", *extra])


def test_the_matrix_and_means_are_printed_without_tracking(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare("--prompt", "base.txt", "--prompt", "worse.toml", "--no-track") == 0
    out = capsys.readouterr().out
    assert "┃ case" in out and "base" in out and "worse" in out
    assert "│ r01  │ item 1 was positive  │ positive │ Review: item 1 was positive" in out
    # The label view shows at once that "worse" answered positive to every case.
    assert "worse: expected ↓ answered →" in out
    assert "│ negative │        7 │        0 │" in out and "│ share    │     100% │" in out
    assert "base    │ fake:echo │ 1.000 (95% CI 1.000-1.000)" in out
    assert "worse   │ fake:echo │ 0.650" in out and "vs first -0.350" in out
    assert not (workdir / "mlruns").exists()


def test_each_variant_is_logged_as_a_sibling_run_of_one_group(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    args = ["--prompt", "base.txt", "--prompt", "same.txt", "--repeats", "2", "--limit", "6"]
    assert compare(*args, "--tracking-uri", uri, "--out", "matrix.csv") == 0
    runs = MlflowClient(tracking_uri=uri).search_runs(["1"])
    assert len(runs) == 2
    groups = {run.data.tags["autotune.compare_group"] for run in runs}
    assert len(groups) == 1
    said = f"MLflow compare group {groups.pop()} (2 runs in experiment 'tiny (benchmark)')"
    assert said in capsys.readouterr().out
    by_variant = {run.data.params["variant"]: run for run in runs}
    assert set(by_variant) == {"base", "same"}
    same = by_variant["same"]
    assert same.data.params["repeats"] == "2" and same.data.params["limit"] == "6"
    assert same.data.metrics["calls"] == 12 and same.data.metrics["diff_vs_first"] == 0.0
    rows = list(csv.reader((workdir / "matrix.csv").open()))
    assert rows[0][:3] == ["case_id", "input", "expected"] and len(rows) == 7
    assert rows[1][:3] == ["r00", "item 0 was negative", "negative"]


def test_models_multiply_the_variants_and_registry_prompts_join_in(workdir: Path) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    (workdir / "store").mkdir()
    deployed = Prompt("Say positive.", "Review: {text}", instruction_position="user")
    register_prompt(deployed, "sentiment", alias="production", tracking_uri=uri)
    args = ["--prompt", "base.txt", "--prompt", "prompts:/sentiment@production"]
    assert compare(*args, "--model", "fake", "--tracking-uri", uri, "--out", "m.md") == 0
    matrix = (workdir / "m.md").read_text()
    for prompt in ("base", "sentiment@production (v1)"):
        for suffix in ("", " #2"):  # the same model twice: two variants, told apart
            assert f"| {prompt} · fake:echo{suffix} | fake:echo |" in matrix
    first_negative = negative_ids()[0]
    assert f"| {first_negative} | item 0 was negative | negative | 1.00 · Review:" in matrix
    assert len(MlflowClient(tracking_uri=uri).search_runs(["1"])) == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prompt", "nope.txt"], "nope.txt: prompt file not found"),
        (["--prompt", "base.txt", "--repeats", "0"], "field '--repeats': must be >= 1"),
        (["--prompt", "base.txt", "--out", "m.xlsx"], "m.xlsx: field '--out'"),
        (["--prompt", "base.txt", "--split", "train"], "has no 'train' cases"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert compare(*extra, "--no-track") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.embedded
def test_compare_with_the_embedded_model_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--prompt", "base.txt", "--prompt", "same.txt", "--limit", "4", "--max-tokens", "4"]
    code = main(["compare", "--bench", "suite.toml", "--model", "smollm2", *args, "--no-track"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("llama_cpp:") == 2  # both variants in the means table
    assert "vs first" in out and "r03" in out
