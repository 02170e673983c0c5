"""``autotune report``: HTML pages for a comparison, a study (MLflow or Optuna), a run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_suites import sqlite_uri, write_suite
from mlflow.tracking import MlflowClient

from autotune.bench import load_benchmark, load_prompt
from autotune.cli.main import main
from autotune.llm.fake import ScriptedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.search.optimizer import PromptOptimizer
from autotune.search.settings import SearchSettings
from autotune.tracking import MlflowTracker, Tracker


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    write_suite(tmp_path)
    return tmp_path


def run_ids(uri: str) -> list[str]:
    return [run.info.run_id for run in MlflowClient(tracking_uri=uri).search_runs(["1"])]


def page_of(path: Path) -> str:
    text = path.read_text()
    # plotly.js is one shared file beside the page, never a CDN: the page stays small.
    assert len(text) < 300_000
    assert re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", text) == ["plotly.min.js"]
    assert (path.parent / "plotly.min.js").stat().st_size > 1_000_000
    return text


def test_a_comparison_report_by_group_id(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    args = ["--prompt", "base.txt", "--prompt", "worse.toml", "--tracking-uri", uri]
    assert main(["compare", "--bench", "suite.toml", "--model", "fake", *args]) == 0
    group = re.search(r"MLflow compare group ([0-9a-f]{32})", capsys.readouterr().out)
    assert group is not None

    code = main(["report", group.group(1), "--out", "out/cmp.html", "--tracking-uri", uri])
    assert code == 0
    assert "report written to out/cmp.html" in capsys.readouterr().out
    page = page_of(workdir / "out" / "cmp.html")
    for part in ('id="plot-scores"', 'id="plot-cases"', 'id="plot-cost"', 'id="diff"'):
        assert part in page
    assert "Prompt: base → worse" in page and "<td>worse</td>" in page


def study(workdir: Path, name: str, tracker: Tracker | None) -> None:
    """Three candidates with a scripted model that always answers "positive"."""

    def meta(messages: Sequence[Message], params: SamplingParams) -> str:
        return "## Persona\nA reader.\n\n## Steps\nDecide the sentiment."

    bench = load_benchmark(workdir / "suite.toml")
    bench.splits = {"train": bench.cases[:12], "validation": bench.cases[12:16], "test": ()}
    settings = SearchSettings(
        n_trials=3, pool_size=2, n_generated=1, demo_counts=[0], n_demo_sets=1,
        positions=["system"], search_size=12,
        minibatch_size=4, n_minibatches=1, n_validate=1, concurrency=1,
    )  # fmt: skip
    optimizer = PromptOptimizer(
        ScriptedLLM(["positive"]),
        ScriptedLLM(meta),
        settings=settings,
        tracker=tracker,
        storage=sqlite_uri(workdir / "optuna.db"),
        study_name=name,
    )
    optimizer.optimize(bench, load_prompt(workdir / "base.txt", bench.user_template))


def test_a_study_report_by_name_from_mlflow_or_from_optuna_alone(workdir: Path) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    storage = ["--storage", sqlite_uri(workdir / "optuna.db")]
    study(workdir, "tracked", MlflowTracker(uri))
    study(workdir, "untracked", None)

    assert main(["report", "tracked", "--out", "t.html", "--tracking-uri", uri, *storage]) == 0
    tracked = page_of(workdir / "t.html")
    assert "<h1>Study tracked</h1>" in tracked and 'id="plot-cases"' in tracked
    assert len(re.findall(r"<td>candidate \d</td>", tracked)) == 3
    assert main(["report", "untracked", "--out", "u.html", "--tracking-uri", uri, *storage]) == 0
    untracked = page_of(workdir / "u.html")
    assert "<h1>Study untracked</h1>" in untracked and 'id="plot-cases"' not in untracked
    assert len(re.findall(r"<td>candidate \d</td>", untracked)) == 3


def test_an_unknown_target_exits_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "nothing-here"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "field 'RUN_OR_STUDY': no MLflow run, comparison or Optuna study named" in err
    assert not (workdir / "mlruns").exists()  # looking did not create a store


@pytest.mark.embedded
def test_report_of_an_embedded_eval_run_end_to_end(workdir: Path) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    args = ["--limit", "4", "--max-tokens", "4", "--no-cache", "--tracking-uri", uri]
    eval_args = ["eval", "--bench", "suite.toml", "--prompt", "base.txt", "--model", "smollm2"]
    assert main([*eval_args, *args]) == 0
    (run_id,) = run_ids(uri)
    assert main(["report", run_id, "--out", "eval.html", "--tracking-uri", uri]) == 0
    page = page_of(workdir / "eval.html")
    assert 'id="plot-scores"' in page and 'id="plot-cases"' in page
    assert "Label the review." in page and "llama_cpp:" in page
