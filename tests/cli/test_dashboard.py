"""The MLflow objects a user browses: experiment names, true run durations, dataset
inputs and traces, for an eval (Reflexion steps as spans) and for a study."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_doubles import use_script
from cli_suites import sqlite_uri, write_suite
from mlflow import MlflowClient
from mlflow.entities import Run

from autotune.cli.main import main
from autotune.llm.types import Message, SamplingParams

DELAY_S = 0.02


def slow_echo(messages: Sequence[Message], params: SamplingParams) -> str:
    time.sleep(DELAY_S)  # real time passes in each call, so durations can be checked
    return messages[-1].content


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    write_suite(tmp_path)
    (tmp_path / "reflex.toml").write_text(
        'system = "Label the review."\nanswer_strategy = "reflexion"\n'
    )
    return tmp_path


def duration_s(run: Run) -> float:
    return (run.info.end_time - run.info.start_time) / 1000


def test_an_eval_run_has_its_experiment_duration_dataset_and_traces(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, slow_echo)
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    args = ["eval", "--bench", "suite.toml", "--prompt", "reflex.toml", "--model", "script"]
    assert main([*args, "--limit", "4", "-j", "1", "--tracking-uri", uri, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny (benchmark)")
    assert experiment is not None and "tiny" in experiment.tags["mlflow.note.content"]
    run = client.get_run(document["mlflow"]["run_id"])
    # 4 cases x 3 calls (draft, critique, revise) one at a time: at least 12 delays.
    work = document["summary"]["wall_s"]
    assert work >= 12 * DELAY_S and duration_s(run) >= work
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "tiny" and dataset.dataset.digest
    assert [tag.value for tag in dataset.tags] == ["test"]
    traces = client.search_traces(locations=[experiment.experiment_id], run_id=run.info.run_id)
    assert len(traces) == 4
    trace = traces[0]
    names = [span.name for span in trace.data.spans]
    assert names[0].startswith("case r0")
    assert {"draft", "critique 1", "revise 1"} <= set(names)
    chats = [span for span in trace.data.spans if span.span_type == "CHAT_MODEL"]
    assert len(chats) == 3
    assert chats[0].inputs["messages"][0] == {"role": "system", "content": "Label the review."}
    assert chats[0].attributes["mlflow.chat.tokenUsage"]["output_tokens"] > 0
    assert trace.info.token_usage["total_tokens"] > 0
    assert trace.info.execution_duration >= 3 * DELAY_S * 1000
    root = trace.data.spans[0]
    assert root.attributes["autotune.expected"] in ("positive", "negative")
    assert root.outputs["score"] in (0.0, 1.0)


def test_a_study_has_its_own_experiment_with_datasets_and_traces(workdir: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    experiment_file = workdir / "exp.toml"
    experiment_file.write_text(
        f'name = "dash"\nbenchmark = "{root}/benchmarks/sentiment/suite.toml"\n'
        f'seed_prompt = "{root}/experiments/sentiment_seed.txt"\n'
        '[models]\ntask = "fake"\n'
        "[search]\nn_trials = 3\npool_size = 2\nn_generated = 1\ndemo_counts = [0]\n"
        'n_demo_sets = 1\nstrategies = ["direct"]\npositions = ["system"]\n'
        "temperatures = [0.0]\nminibatch_size = 4\nn_minibatches = 1\nn_validate = 1\n"
        f'[tracking]\nuri = "{sqlite_uri(workdir / "mlflow.db")}"\n'
        f'storage = "{sqlite_uri(workdir / "optuna.db")}"\n'
        '[output]\ndir = "out"\n'
    )
    assert main(["run", str(experiment_file)]) == 0
    client = MlflowClient(sqlite_uri(workdir / "mlflow.db"))
    experiment = client.get_experiment_by_name("dash (study)")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("autotune.kind") == "study"]
    trials = [r for r in runs if r.data.tags.get("autotune.kind") == "candidate"]
    assert len(trials) == 3
    assert parent.info.start_time <= min(t.info.start_time for t in trials)
    assert parent.info.end_time >= max(t.info.end_time for t in trials)
    contexts = sorted(tag.value for d in parent.inputs.dataset_inputs for tag in d.tags)
    assert contexts == ["test", "train", "validation"]
    traces = client.search_traces(
        locations=[experiment.experiment_id], run_id=parent.info.run_id, max_results=100
    )
    assert 0 < len(traces) <= 20
    names = {trace.data.spans[0].name for trace in traces}
    assert any(name.startswith("case ") for name in names)
