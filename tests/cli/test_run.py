"""``autotune run``: an experiment file end to end, its outputs, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from autotune.bench import load_prompt
from autotune.cli.main import main
from autotune.tracking.registry import load_registered_prompt

REPO = Path(__file__).resolve().parents[2]

EXPERIMENT = """
name = "tiny-{model}"
benchmark = "bench/suite.toml"
seed_prompt = "seed.txt"

[models]
task = "{model}"

[search]
n_trials = {trials}
pool_size = 3
n_generated = 1
demo_counts = [0, 2]
n_demo_sets = 2
strategies = ["direct"]
positions = ["system", "user"]
temperatures = [0.0]
minibatch_size = {batch}
n_minibatches = 2
n_validate = 2
max_tokens = 8
meta_max_tokens = {meta_tokens}

[tracking]
uri = "sqlite:///{root}/mlflow.db"
storage = "sqlite:///{root}/optuna.db"

[output]
dir = "out"
register_as = "tiny-sentiment"
alias = "candidate"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled sentiment suite and seed prompt, copied into tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(REPO / "benchmarks" / "sentiment", tmp_path / "bench")
    shutil.copy(REPO / "experiments" / "sentiment_seed.txt", tmp_path / "seed.txt")
    return tmp_path


def write_experiment(workdir: Path, model: str, trials: int = 3, batch: int = 4) -> Path:
    text = EXPERIMENT.format(model=model, trials=trials, batch=batch, root=workdir, meta_tokens=48)
    path = workdir / "exp.toml"
    path.write_text(text)
    return path


def test_run_writes_the_best_prompt_tracks_every_candidate_and_registers(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = write_experiment(workdir, "fake", trials=4)

    assert main(["run", str(experiment)]) == 0

    out = capsys.readouterr().out
    assert "test (held out)" in out
    summary = json.loads((workdir / "out" / "result.json").read_text())
    assert sum(summary["candidates"].values()) == 4
    best = load_prompt(workdir / "out" / "best_prompt.toml")
    registered, version = load_registered_prompt(
        "prompts:/tiny-sentiment@candidate", tracking_uri=f"sqlite:///{workdir}/mlflow.db"
    )
    assert version == 1
    assert registered == best

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    experiment_id = client.get_experiment_by_name("tiny-fake (study)").experiment_id
    runs = client.search_runs([experiment_id])
    parents = [r for r in runs if r.data.tags.get("autotune.kind") == "study"]
    children = [r for r in runs if r.data.tags.get("autotune.kind") == "candidate"]
    assert len(parents) == 1
    assert len(children) == 4
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children)
    assert {"seed_test", "best_test", "gain", "gain_ci_low"} <= set(parents[0].data.metrics)
    readable = {"instruction", "operator", "parents", "n_demos", "framing", "position"}
    assert readable <= set(children[0].data.params)
    (seed,) = [r for r in children if r.data.params["operator"] == "seed"]
    assert {"search_score", "metric/label", "calls", "tokens"} <= set(seed.data.metrics)


def test_a_second_run_resumes_the_study_in_the_same_parent_run(
    workdir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    experiment = write_experiment(workdir, "fake", trials=2)
    assert main(["run", str(experiment)]) == 0
    capfd.readouterr()
    assert main(["run", str(experiment), "--trials", "3"]) == 0
    # MLflow's own "Downloading artifacts" bars stay off a resumed run's terminal.
    assert "Downloading artifacts" not in capfd.readouterr().err

    client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
    experiment_id = client.get_experiment_by_name("tiny-fake (study)").experiment_id
    runs = client.search_runs([experiment_id])
    assert sum(r.data.tags.get("autotune.kind") == "study" for r in runs) == 1
    assert sum(r.data.tags.get("autotune.kind") == "candidate" for r in runs) == 3


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("n_trials = 2", "n_trials = 0", "exp.toml:10: field 'search.n_trials'"),
        ("pool_size = 3", "pool_sise = 3", "field 'search.pool_sise'"),
        ('"seed.txt"', '"nope.txt"', "exp.toml:4: field 'seed_prompt': file not found"),
        ('task = "fake"', 'task = "martian:x"', "exp.toml:7: field 'models.task'"),
        ("[search]", "[search", "exp.toml:9: invalid TOML"),
    ],
)
def test_bad_experiment_files_get_one_line_and_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    path = write_experiment(workdir, "fake", trials=2)
    path.write_text(path.read_text().replace(old, new))

    assert main(["run", str(path)]) == 2

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert expected in err
    assert "Traceback" not in err


def test_missing_experiment_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "no/such/exp.toml"]) == 2
    assert "experiment file not found" in capsys.readouterr().err


@pytest.mark.embedded
def test_run_on_the_embedded_model(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experiment = write_experiment(workdir, "smollm2", trials=2, batch=3)
    text = experiment.read_text().replace("meta_max_tokens = 48", "meta_max_tokens = 48")
    experiment.write_text(text + "\n[budget]\nmax_calls = 400\n")

    assert main(["run", str(experiment)]) == 0

    summary = json.loads((workdir / "out" / "result.json").read_text())
    assert 0.0 <= summary["best_test"] <= 1.0
    assert summary["usage"]["calls"] > 0
    assert (workdir / "out" / "best_prompt.toml").is_file()
