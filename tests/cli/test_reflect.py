import json
from pathlib import Path

import pytest
from cli_doubles import artifact_text, forbid_model_loading, single_run, store_uri, use_script

from autotune.cli.main import main

QUESTION = "What is 17 * 3?"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def test_every_round_is_shown_labelled_and_logged(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = iter(["41", "- Wrong product: 17 * 3 is 51.", "50", "- Still off by one.", "51"])
    built = use_script(monkeypatch, lambda messages, params: next(replies))
    uri = store_uri(workdir)
    args = ["reflect", QUESTION, "--model", "script", "--rounds", "2", "--system", "Be exact."]
    assert main([*args, "--max-tokens", "30", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "=== Round 1 ===\n--- Draft ---\n41\n--- Critique ---\n- Wrong product: 17 * 3 is 51.\n"
        "--- Final answer ---\n50\n\n=== Round 2 ===\n--- Draft ---\n50\n"
    )
    assert out.endswith("--- Final answer ---\n51\n\n=== Answer ===\n51\n")
    requests = built[0].requests
    assert requests[0][0][0].content == "Be exact." and requests[0][1].max_tokens == 30
    assert "You are a harsh, precise reviewer" in requests[1][0][0].content
    client, run = single_run(uri)
    assert run.data.tags["autotune.command"] == "reflect"
    assert (run.data.params["question"], run.data.params["rounds"]) == (QUESTION, "2")
    assert (run.data.metrics["calls"], run.data.metrics["rounds"]) == (5, 2)
    data = json.loads(artifact_text(client, run, "reflexion.json", workdir))
    assert [r["final"] for r in data["rounds"]] == ["50", "51"] and data["answer"] == "51"
    assert "### Critique\n- Still off by one." in artifact_text(
        client, run, "reflexion.md", workdir
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([" "], "field 'question': the question is empty"),
        ([QUESTION, "--rounds", "0"], "field '--rounds': must be >= 1"),
        ([QUESTION, "--model", "nosuch:x"], "field 'model': unknown backend 'nosuch'"),
        ([QUESTION, "--model", ""], "field 'model': empty model string"),
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
    assert main(["reflect", *args, "--no-track"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.embedded
def test_reflect_with_the_embedded_model_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["reflect", "What is 2 + 2?", "--model", "smollm2", "--max-tokens", "24"]
    assert main([*args, "--no-cache", "--no-track"]) == 0
    out = capsys.readouterr().out
    labels = ["=== Round 1 ===", "--- Draft ---", "--- Critique ---", "--- Final answer ---"]
    positions = [out.index(label) for label in [*labels, "=== Answer ==="]]
    assert positions == sorted(positions)
    answer = out.split("=== Answer ===\n", 1)[1].strip()
    assert answer and answer in out.split("--- Final answer ---\n", 1)[1]
    assert not (workdir / "mlruns").exists()
