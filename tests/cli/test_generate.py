import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_doubles import artifact_text, forbid_model_loading, single_run, store_uri, use_script

from autotune.bench import load_prompt
from autotune.cli.main import main
from autotune.llm.types import Message, SamplingParams

INTENT = "a support bot for billing disputes"
DRAFT = (
    "## Persona\nYou are a patient billing support agent.\n\n"
    "## Context\nCustomers write about charges they do not recognise.\n\n"
    "## Steps\n1. Read the message.\n2. Explain the next step.\n\n"
    "## Format\nA short, polite reply.\n\n"
    "## Examples\nInput: I was charged twice.\nOutput: Sorry, I refunded the second charge."
)
SUITE = """
name = "tiny"
data = "cases.jsonl"
input_template = "Review: {text}"
expected = "label"
labels = ["positive", "negative"]
split = { column = "split" }
"""


def meta(messages: Sequence[Message], params: SamplingParams) -> str:
    text = messages[-1].content
    if "section." in text.splitlines()[0]:
        return "Sure!"  # never a usable section
    return DRAFT.replace("A short, polite reply.", "") if "--no-format" in text else DRAFT


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def test_markdown_goes_to_stdout_and_loads_as_a_prompt_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built = use_script(monkeypatch, meta)
    assert main(["generate", INTENT, "--model", "script", "--no-track"]) == 0
    captured = capsys.readouterr()
    assert captured.out == DRAFT + "\n" and built[0].calls == 1
    (workdir / "p.md").write_text(captured.out)
    assert load_prompt(workdir / "p.md").system == DRAFT


def test_json_output_to_a_file_and_a_tracked_run(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_script(monkeypatch, meta)
    uri, out = store_uri(workdir), workdir / "out" / "prompt.json"
    args = ["generate", INTENT, "--model", "script", "--format", "json", "--out", str(out)]
    assert main([*args, "--tracking-uri", uri]) == 0
    data = json.loads(out.read_text())
    assert data["persona"] == "You are a patient billing support agent."
    assert data["examples"].startswith("Input: I was charged twice.")
    assert data["score_history"] == [] and data["missing_sections"] == []
    assert f"prompt written to {out}" in capsys.readouterr().err
    client, run = single_run(uri)
    assert run.data.tags["autotune.command"] == "generate"
    assert (run.data.params["intent"], run.data.params["model"]) == (INTENT, "fake:script")
    assert run.data.metrics["meta_calls"] == 1 and run.data.metrics["missing_sections"] == 0
    assert json.loads(artifact_text(client, run, "generated.json", workdir)) == data


def test_a_section_still_missing_is_named_and_exits_1_with_the_prompt_written(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built = use_script(monkeypatch, meta)
    out = workdir / "p.md"
    args = ["generate", f"{INTENT} --no-format", "--model", "script", "--out", str(out)]
    assert main([*args, "--attempts", "2", "--no-track"]) == 1
    err = capsys.readouterr().err
    assert "warning: sections still missing after every attempt: format" in err
    assert built[0].calls == 3  # the draft, then two focused requests for Format
    assert "## Persona" in out.read_text() and "## Format" not in out.read_text()


def test_with_a_benchmark_scores_are_shown_per_round_and_logged(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [("a", "fine positive", "positive", "train"), ("b", "so negative", "negative", "train")]
    lines = [json.dumps({"id": i, "text": t, "label": y, "split": s}) for i, t, y, s in rows]
    (workdir / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (workdir / "suite.toml").write_text(SUITE)
    uri = store_uri(workdir)
    args = ["generate", INTENT, "--model", "fake", "--bench", str(workdir / "suite.toml")]
    assert main([*args, "--rounds", "1", "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    # The echo model repeats the review, so the label metric finds each case's own label.
    assert "round 0 draft  train 1.000  best 1.000 *" in err
    assert "round 1 edit   train -  best 1.000  (stopped: every case passes)" in err
    client, run = single_run(uri)
    history = client.get_metric_history(run.info.run_id, "train_score")
    assert [(m.step, m.value) for m in history] == [(0, 1.0)]
    assert run.data.metrics["mean"] == 1.0 and run.data.params["bench"].endswith("suite.toml")
    assert "case_id" in artifact_text(client, run, "cases.json", workdir)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "field 'intent': the intent is empty"),
        ([INTENT, "--out", "{tmp}/file.txt/p.md"], "field '--out': cannot create the file"),
        ([INTENT, "--out", "{tmp}"], "field '--out': is a folder"),
        ([INTENT, "--model", "nosuch:x"], "field 'model': unknown backend 'nosuch'"),
        ([INTENT, "--rounds", "-1"], "field '--rounds': must be >= 0"),
        ([INTENT, "--bench", "{tmp}/nope.toml"], "nope.toml: suite file not found"),
    ],
)
def test_bad_input_exits_2_with_one_line_before_any_model_call(
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    forbid_model_loading(monkeypatch)
    (workdir / "file.txt").write_text("x")
    filled = [arg.format(tmp=workdir) for arg in args]
    model = [] if "--model" in filled else ["--model", "fake"]
    assert main(["generate", *filled, *model, "--no-track"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.embedded
def test_generate_with_the_embedded_model_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = store_uri(workdir)
    args = ["generate", INTENT, "--model", "smollm2", "--max-tokens", "40", "--attempts", "1"]
    code = main([*args, "--no-cache", "--tracking-uri", uri])
    captured = capsys.readouterr()
    assert "## " in captured.out
    assert code == (1 if "sections still missing" in captured.err else 0)
    client, run = single_run(uri)
    assert run.data.params["model"].startswith("llama_cpp:")
    assert run.data.metrics["meta_calls"] >= 1
    assert artifact_text(client, run, "generated.md", workdir) == captured.out
