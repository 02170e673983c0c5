"""CLI habits: --version, -j, --json against the schemas, cache stats|clear, view, ui,
file modes, and the resume hint on Ctrl-C."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cli_suites import sqlite_uri, write_suite

from autotune._atomic import write_atomic
from autotune.cli import cmd_ui, cmd_view
from autotune.cli.main import INTERRUPTED, main, package_version
from autotune.cli.schemas import validate
from autotune.prompt import Prompt
from autotune.tracking.registry import register_prompt


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("AUTOTUNE_CACHE_DIR", raising=False)
    write_suite(tmp_path)
    return tmp_path


def json_out(capsys: pytest.CaptureFixture[str], command: str) -> Any:
    document = json.loads(capsys.readouterr().out)
    validate(command, document)
    return document


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"autotune {package_version()}\n"
    assert package_version() != "unknown"


def test_eval_json_fits_its_schema_and_j_sets_the_concurrency(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    args = ["eval", "--bench", "suite.toml", "--prompt", "worse.toml", "--model", "fake"]
    assert main([*args, "-j", "3", "--json", "--tracking-uri", uri]) == 0
    document = json_out(capsys, "eval")
    assert document["summary"]["cases"] == 20 and document["summary"]["errors"] == 0
    assert document["summary"]["mean"] == pytest.approx(13 / 20)
    assert [row["expected"] for row in document["failures"]] == ["negative"] * 5
    assert document["mlflow"]["experiment"] == "tiny (benchmark)"
    from mlflow import MlflowClient

    run = MlflowClient(uri).get_run(document["mlflow"]["run_id"])
    assert run.data.params["concurrency"] == "3"


def test_compare_and_regress_json_fit_their_schemas(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--bench", "suite.toml", "--model", "fake", "--no-track", "-j", "2", "--json"]
    assert main(["compare", *base, "--prompt", "base.txt", "--prompt", "worse.toml"]) == 0
    document = json_out(capsys, "compare")
    worse = document["variants"][1]
    assert worse["labels"]["answered"] == {"positive": 20, "negative": 0}
    assert worse["labels"]["confusion"]["negative"] == [7, 0]
    assert document["cases"][0]["expected"] == "negative"
    assert main(["regress", *base, "--candidate", "worse.toml", "--baseline", "base.txt"]) == 1
    document = json_out(capsys, "regress")
    assert document["passed"] is False and document["overall"]["regressed"] is True
    assert len(document["broken"]) == 7 and document["promoted"] is None


def test_a_first_promotion_needs_no_production_alias(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = sqlite_uri(workdir / "store" / "mlflow.db")
    (workdir / "store").mkdir()
    tuned = Prompt("Label the review.", "Review: {text}", name="tuned")
    register_prompt(tuned, "sentiment", alias="candidate", tracking_uri=uri)
    args = ["regress", "--bench", "suite.toml", "--model", "fake", "--tracking-uri", uri]
    args += ["--candidate", "prompts:/sentiment@candidate", "--baseline", "base.txt"]
    assert main([*args, "--promote", "production", "--json"]) == 0
    document = json_out(capsys, "regress")
    assert document["promoted"] == {"alias": "prompts:/sentiment@production", "version": 1}
    from autotune.tracking.registry import load_registered_prompt

    assert load_registered_prompt("prompts:/sentiment@production", tracking_uri=uri)[1] == 1


def test_cache_stats_and_clear(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", "--bench", "suite.toml", "--prompt", "base.txt", "--no-track"]
    cache = ["--cache-dir", "mycache"]
    assert main([*args, "--model", "fake", "--limit", "1", *cache]) == 0
    capsys.readouterr()
    assert (workdir / "mycache" / "responses.sqlite").is_file()
    assert not (workdir / ".autotune-cache").exists()
    assert main(["cache", "stats", *cache, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["entries"] == 1 and stats["models"][0]["model"] == "fake:echo"
    assert stats["size_bytes"] > 0
    assert main(["cache", "clear", *cache]) == 0
    assert "deleted 1 answers" in capsys.readouterr().out
    assert main(["cache", "stats", *cache]) == 0
    assert ": 0 answers" in capsys.readouterr().out


def test_view_writes_the_report_then_opens_or_serves_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = workdir / "r.html"
    page.write_text("<html>report</html>")
    opened: list[str] = []
    served: list[Path] = []
    monkeypatch.setattr(cmd_view.webbrowser, "open", lambda url: opened.append(url) or True)
    monkeypatch.setattr(cmd_view, "serve", lambda path, port: served.append(path))
    assert main(["view", "r.html"]) == 0
    assert opened == [page.resolve().as_uri()] and not served
    assert main(["view", "r.html", "--serve"]) == 0
    assert served == [page.resolve()]
    assert main(["view", "nope.html"]) == 2
    assert "nope.html: no such report file" in capsys.readouterr().err


def test_ui_runs_the_mlflow_ui_on_the_store_offline(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def execve(path: str, command: list[str], env: dict[str, str]) -> None:
        calls.append((path, command, env))

    monkeypatch.setattr(cmd_ui.os, "execve", execve)
    main(["ui", "--port", "5123"])  # the real execve would not come back
    [(path, command, env)] = calls
    assert path == command[0]
    store = f"sqlite:///{workdir.as_posix()}/mlruns/mlflow.db"
    assert command[1:4] == ["-m", "mlflow", "ui"]
    assert command[command.index("--backend-store-uri") + 1] == store
    assert command[command.index("--port") + 1] == "5123"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert cmd_ui.ui_command(store, "127.0.0.1", 1)[-2:][0] == "--default-artifact-root"


def test_results_get_the_mode_of_a_plain_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        written = write_atomic(tmp_path / "result.json", "{}")
    finally:
        os.umask(old)
    expected = 0o666 & ~old
    assert stat.S_IMODE(written.stat().st_mode) == expected


def test_ctrl_c_says_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd_view, "run_view", interrupted)
    assert main(["view", "x.html"]) == 130
    assert capsys.readouterr().err == INTERRUPTED + "\n"
    assert "rerun the same command to resume" in INTERRUPTED
