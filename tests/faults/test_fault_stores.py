"""Broken or unreachable stores: one line naming the file, never overwritten or replaced."""

from __future__ import annotations

import hashlib
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import optuna
import pytest
from fault_suite import error_lines

from autotune.cli.main import main
from autotune.errors import StoreError
from autotune.prompt import Prompt
from autotune.stores import check_optuna_storage, check_tracking_store, relocate_artifacts
from autotune.tracking import MlflowTracker


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def real_optuna_db(path: Path) -> None:
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{path}")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)


def test_empty_optuna_db_is_reported_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "optuna.db"
    db.touch()
    with pytest.raises(StoreError, match=r"optuna\.db: Optuna study store is empty \(0 bytes\)"):
        check_optuna_storage(f"sqlite:///{db}")
    assert db.stat().st_size == 0


@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_truncated_optuna_db_is_reported_and_left_alone(tmp_path: Path, keep: float) -> None:
    db = tmp_path / "optuna.db"
    real_optuna_db(db)
    data = db.read_bytes()
    db.write_bytes(data[: max(100, int(len(data) * keep))])
    before = digest(db)
    with pytest.raises(StoreError, match="corrupt") as caught:
        check_optuna_storage(f"sqlite:///{db}")
    assert str(db) in str(caught.value) and "\n" not in str(caught.value)
    assert digest(db) == before


def test_garbage_file_and_foreign_database_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 50)
    with pytest.raises(StoreError, match="not an SQLite database"):
        check_optuna_storage(f"sqlite:///{junk}")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(StoreError, match="another tool's database"):
        check_tracking_store(f"sqlite:///{other}")


def test_sound_and_missing_stores_pass(tmp_path: Path) -> None:
    db = tmp_path / "optuna.db"
    real_optuna_db(db)
    check_optuna_storage(f"sqlite:///{db}")
    check_optuna_storage(f"sqlite:///{tmp_path / 'new.db'}")
    check_optuna_storage(None)


def test_run_with_an_empty_study_store_stops_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "exp.toml").write_text(
        'name = "x"\nbenchmark = "suite.toml"\nseed_prompt = "seed.txt"\n'
        '[models]\ntask = "fake"\n[tracking]\nenabled = false\n'
    )
    db = workdir / "mlruns" / "optuna.db"
    db.parent.mkdir()
    db.touch()
    assert main(["run", "exp.toml"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "optuna.db" in line and "empty" in line
    assert db.stat().st_size == 0
    assert not (workdir / "mlruns" / "results").exists()  # no best_prompt.toml written


def test_eval_with_a_truncated_mlflow_store_stops_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = workdir / "mlruns" / "mlflow.db"
    MlflowTracker(f"sqlite:///{store}").log_eval(_result(), Prompt(system="x"))
    store.write_bytes(store.read_bytes()[:5000])
    before = digest(store)
    args = ["eval", "--prompt", "seed.txt", "--bench", "suite.toml", "--model", "fake"]
    assert main([*args, "--tracking-uri", f"sqlite:///{store}"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert str(store) in line and "MLflow tracking store" in line
    assert digest(store) == before


def test_unreachable_tracking_server_is_one_line_at_start(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    args = ["eval", "--prompt", "seed.txt", "--bench", "suite.toml", "--model", "fake"]
    assert main([*args, "--tracking-uri", f"http://127.0.0.1:{port}"]) == 2
    assert time.monotonic() - started < 5
    [line] = error_lines(capsys.readouterr().err)
    assert f"MLflow tracking server http://127.0.0.1:{port} is unreachable" in line


def test_a_moved_store_writes_artifacts_inside_its_new_folder(tmp_path: Path) -> None:
    old = tmp_path / "old" / "mlruns"
    first = MlflowTracker(f"sqlite:///{old / 'mlflow.db'}")
    first.log_eval(_result(), Prompt(system="before the move"))
    new = tmp_path / "new" / "mlruns"
    new.parent.mkdir()
    shutil.move(old, new)
    tracker = MlflowTracker(f"sqlite:///{new / 'mlflow.db'}")
    run_id = tracker.log_eval(_result(), Prompt(system="after the move"))
    assert not old.exists()  # nothing was written to the old absolute path
    run = tracker.client.get_run(run_id)
    assert run.info.artifact_uri.startswith((new / "artifacts").resolve().as_uri())
    assert list((new / "artifacts").rglob("prompt.json"))
    # Runs from before the move are found at their new place too.
    runs = tracker.client.search_runs([tracker.experiment_id])
    assert all(r.info.artifact_uri.startswith(new.resolve().as_uri()) for r in runs)
    assert relocate_artifacts(new / "mlflow.db") == 0  # idempotent


def _result():  # type: ignore[no-untyped-def]
    from autotune.evaluate import CaseResult, EvalResult

    row = CaseResult("a", {"input": "x"}, "x", "y", "y", 1.0, {"exact": 1.0})
    return EvalResult.from_rows([row], ["exact"])
