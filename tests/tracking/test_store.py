"""prepare_tracking_store creates a database store once; a real ``mlflow server`` takes
runs, nested runs, artifacts and registered prompts through MlflowTracker.

(Concurrent creation by several processes: tests/search/test_storage_processes.py; a
server that is down: tests/faults.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from real_servers import MlflowServer, free_port

from autotune.errors import StoreError
from autotune.prompt import Prompt
from autotune.tracking.mlflow_sink import PARENT_RUN_TAG, MlflowTracker
from autotune.tracking.registry import load_registered_prompt, register_prompt
from autotune.tracking.store import check_tracking_store, prepare_tracking_store

REPO = Path(__file__).resolve().parents[2]


def test_a_database_store_is_created_once_with_its_folder(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/new/mlflow.db"
    prepare_tracking_store(uri)
    prepare_tracking_store(uri)
    assert [e.name for e in MlflowClient(uri).search_experiments()] == ["Default"]


def test_an_empty_store_file_is_refused_not_migrated(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        prepare_tracking_store(f"sqlite:///{tmp_path}/mlflow.db")
    assert (tmp_path / "mlflow.db").stat().st_size == 0


def test_an_unreachable_postgresql_store_is_one_line() -> None:
    uri = f"postgresql://u:hunter2@127.0.0.1:{free_port()}/mlflow"
    with pytest.raises(StoreError) as caught:
        prepare_tracking_store(uri)
    assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_real_tracking_server_takes_nested_runs_artifacts_and_prompts(
    tracking_server: MlflowServer,
) -> None:
    check_tracking_store(tracking_server.url)
    tracker = MlflowTracker(tracking_server.url, experiment="store-test")
    with tracker.start_run("study") as parent:
        parent.log_params({"n_trials": 3})
        with tracker.start_run("trial-0", parent=parent.run_id) as child:
            child.log_metrics({"value": 0.75}, step=0)
            child.log_text("## Persona\nA critic.", "prompt.md")
    client = MlflowClient(tracking_server.url)
    run = client.get_run(child.run_id)
    assert run.data.tags[PARENT_RUN_TAG] == parent.run_id
    assert run.data.metrics["value"] == 0.75
    assert run.info.status == "FINISHED"
    folder = client.download_artifacts(child.run_id, "prompt.md", str(Path(tracking_server.folder)))
    assert Path(folder).read_text() == "## Persona\nA critic."
    prompt = Prompt(system="Label the review.", user_template="{text}")
    register_prompt(prompt, "store-test", alias="candidate", tracking_uri=tracking_server.url)
    loaded, _ = load_registered_prompt(
        "prompts:/store-test@candidate", tracking_uri=tracking_server.url
    )
    assert loaded.system == "Label the review."
