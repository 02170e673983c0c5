import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from autotune.cli.main import main

# The fake model echoes the user message, so the label metric finds the label in
# the text itself: cases whose text names their own label pass.
CASES = [
    ("a", "clearly positive", "positive", "train"),
    ("b", "clearly negative", "positive", "test"),
    ("c", "rather negative", "negative", "test"),
    ("d", "very positive", "positive", "test"),
    ("e", "quite negative", "negative", "validation"),
]
SUITE = """
name = "tiny"
description = "Label the sentiment."
data = "cases.jsonl"
input_template = "Review: {text}"
expected = "label"
labels = ["positive", "negative"]
split = { column = "split" }

[[metrics]]
name = "label"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # caches and default stores stay in tmp_path
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    lines = [
        json.dumps({"id": i, "text": text, "label": label, "split": split})
        for i, text, label, split in CASES
    ]
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "prompt.txt").write_text("Answer positive or negative.\n")
    return tmp_path


def eval_args(workdir: Path, *extra: str) -> list[str]:
    return [
        "eval",
        "--prompt",
        str(workdir / "prompt.txt"),
        "--bench",
        str(workdir / "suite.toml"),
        "--model",
        "fake",
        *extra,
    ]


def read_single_run(uri: str, experiment: str = "tiny (benchmark)") -> tuple[MlflowClient, str]:
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1
    return client, runs[0].info.run_id


def test_eval_prints_summary_and_worst_cases_without_tracking(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(eval_args(workdir, "--no-track")) == 0
    out = capsys.readouterr().out
    assert "tiny · prompt · fake:echo · test" in out
    assert "0.667" in out  # 2 of the 3 test cases pass
    assert "3 (2 passed, 0 errors)" in out
    assert "worst cases" in out and "b" in out
    assert not (workdir / "mlruns").exists()


def test_eval_logs_a_run_to_mlflow(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = "sqlite:///" + (workdir / "store" / "mlflow.db").as_posix()
    code = main(eval_args(workdir, "--tracking-uri", uri, "--split", "all", "--limit", "4"))
    assert code == 0
    client, run_id = read_single_run(uri)
    assert f"MLflow run {run_id}" in capsys.readouterr().out
    run = client.get_run(run_id)
    assert run.data.params["model"] == "fake:echo"
    assert run.data.params["temperature"] == "0.0"
    assert (run.data.params["split"], run.data.params["limit"]) == ("all", "4")
    assert run.data.tags["autotune.command"] == "eval"
    assert run.data.metrics["cases"] == 4 and run.data.metrics["calls"] == 4
    assert run.data.metrics["mean"] == 0.75
    assert run.data.metrics["metric/label"] == 0.75
    local = Path(client.download_artifacts(run_id, "cases.json", dst_path=str(workdir)))
    table = json.loads(local.read_text())
    assert [row[table["columns"].index("case_id")] for row in table["data"]] == [
        "a",
        "b",
        "c",
        "d",
    ]


def test_eval_uses_the_default_store_under_the_working_directory(workdir: Path) -> None:
    assert main(eval_args(workdir, "--split", "validation")) == 0
    client, run_id = read_single_run(f"sqlite:///{workdir.as_posix()}/mlruns/mlflow.db")
    assert client.get_run(run_id).data.metrics["cases"] == 1
    assert (workdir / "mlruns" / "artifacts").is_dir()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--concurrency", "0"], "field '--concurrency': must be >= 1"),
        (["--limit", "0"], "field '--limit': must be >= 1"),
        (["--max-tokens", "0"], "field '--max-tokens': must be >= 1"),
        (["--temperature", "-1"], "field '--temperature': must be >= 0"),
        (["--model", "nosuch:x"], "field 'model': unknown backend 'nosuch'"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main([*eval_args(workdir, "--no-track"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_missing_suite_file_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = eval_args(workdir, "--no-track")
    args[args.index("--bench") + 1] = str(workdir / "nope.toml")
    assert main(args) == 2
    expected = f"autotune: error: {workdir}/nope.toml: suite file not found\n"
    assert capsys.readouterr().err == expected


def test_unknown_strategy_names_the_prompt_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = workdir / "prompt.json"
    prompt.write_text(json.dumps({"system": "Label it.", "strategy": "telepathy"}))
    args = eval_args(workdir, "--no-track")
    args[args.index("--prompt") + 1] = str(prompt)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"autotune: error: {prompt}: field 'strategy': unknown strategy")


def test_prompt_placeholder_missing_from_cases_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = workdir / "prompt.toml"
    prompt.write_text('system = "Label it."\nuser_template = "{title}: {text}"\n')
    args = eval_args(workdir, "--no-track")
    args[args.index("--prompt") + 1] = str(prompt)
    assert main(args) == 2
    assert "field 'user_template': needs {title}" in capsys.readouterr().err


@pytest.mark.embedded
def test_eval_with_the_embedded_model_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "sqlite:///" + (workdir / "e2e" / "mlflow.db").as_posix()
    args = eval_args(workdir, "--split", "all", "--limit", "4", "--max-tokens", "6")
    args[args.index("--model") + 1] = "smollm2"
    assert main([*args, "--no-cache", "--tracking-uri", uri, "--concurrency", "2"]) == 0
    client, run_id = read_single_run(uri)
    run = client.get_run(run_id)
    assert run.data.params["model"].startswith("llama_cpp:")
    assert run.data.metrics["cases"] == 4 and run.data.metrics["errors"] == 0
    assert run.data.metrics["calls"] == 4 and run.data.metrics["completion_tokens"] > 0
    assert 0.0 <= run.data.metrics["ci_low"] <= run.data.metrics["mean"]
    local = Path(client.download_artifacts(run_id, "cases.json", dst_path=str(workdir)))
    table = json.loads(local.read_text())
    outputs = [row[table["columns"].index("output")] for row in table["data"]]
    assert len(outputs) == 4 and any(text.strip() for text in outputs)


def test_eval_uses_the_prompt_files_tuned_temperature_unless_given(workdir: Path) -> None:
    prompt = workdir / "tuned.toml"
    prompt.write_text('system = "Label it."\ntemperature = 0.7\n')
    uri = "sqlite:///" + (workdir / "t" / "mlflow.db").as_posix()
    args = eval_args(workdir, "--tracking-uri", uri)
    args[args.index("--prompt") + 1] = str(prompt)
    assert main(args) == 0
    assert main([*args, "--temperature", "0.2", "--experiment", "given"]) == 0
    for experiment, temperature in (("tiny (benchmark)", "0.7"), ("given", "0.2")):
        client, run_id = read_single_run(uri, experiment)
        assert client.get_run(run_id).data.params["temperature"] == temperature
