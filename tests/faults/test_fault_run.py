"""``autotune run`` against servers that fail: it stops with one line, it writes no "best"."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from fault_suite import PASSWORD, error_lines
from llm_http_doubles import Act, FaultServer

from autotune.cli.main import main
from autotune.search.reader import read_study


def experiment(folder: Path, url: str) -> None:
    (folder / "exp.toml").write_text(
        f'name = "x"\nbenchmark = "suite.toml"\nseed_prompt = "seed.txt"\n'
        f'[models]\ntask = "openai:m@{url}"\nmeta = "fake"\ncache = false\n'
        "max_retries = 0\ntimeout_s = 2\n"
        "[search]\nn_trials = 3\nn_generated = 0\nminibatch_size = 4\nn_minibatches = 1\n"
        "[tracking]\nenabled = false\n"
    )


def test_run_with_a_wrong_key_stops_in_seconds_with_one_line(
    workdir: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("status", 401, body='{"error": "invalid key"}'))
    experiment(workdir, server.base_url)
    started = time.monotonic()
    assert main(["run", "exp.toml"]) == 2
    # No retries and no other case after the first 401: only the cases already in
    # flight reached the server. (Wall time is mostly imports; on an idle machine the
    # whole command takes about 2 s: benchmarks/results/fault_times.json.)
    assert server.count <= 4
    assert time.monotonic() - started < 15
    [line] = error_lines(capsys.readouterr().err)
    assert "HTTP 401" in line and server.base_url in line
    assert not list(workdir.rglob("best_prompt.toml"))


def test_run_against_a_dead_server_exits_2_and_writes_no_best_prompt(
    workdir: Path, dead_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment(workdir, dead_url)
    started = time.monotonic()
    assert main(["run", "exp.toml"]) == 2
    assert time.monotonic() - started < 15  # the first failed case, not every trial
    [line] = error_lines(capsys.readouterr().err)
    assert "connection failed" in line and dead_url in line
    assert not list(workdir.rglob("best_prompt.toml"))


def test_run_whose_server_dies_after_answering_writes_no_best_prompt(
    workdir: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("ok"), Act("drop"))
    experiment(workdir, server.base_url)
    assert main(["run", "exp.toml"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "failed on 3 candidates in a row" in line and "rerun the same command" in line
    assert not list(workdir.rglob("best_prompt.toml"))
    # The failed candidates are FAIL trials with their reason, never "COMPLETE 0.000".
    storage = f"sqlite:///{workdir}/mlruns/optuna.db"
    study = optuna.load_study(study_name="x", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()]  # the rest: tickets left
    assert [t.state for t in finished] == [optuna.trial.TrialState.FAIL] * 3
    assert all(t.value is None for t in study.trials)
    notes = [row.candidate.note for row in read_study("x", storage).candidates]
    assert all(note.startswith("model errors: ") for note in notes)


def test_run_banner_and_errors_never_show_url_credentials(
    workdir: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("status", 401, body='{"error": "wrong password"}'))
    experiment(workdir, server.base_url.replace("http://", f"http://alice:{PASSWORD}@"))
    assert main(["run", "exp.toml"]) == 2
    out, err = capsys.readouterr()
    assert "autotune run x: task model openai:m@http://127.0.0.1" in err  # the banner
    assert PASSWORD not in out + err and "alice" not in out + err
