"""The README's three-machine recipe, run as printed on loopback.

The commands are read from the README (the block after its ``recipe: workers`` marker),
with only the host ``db`` made 127.0.0.1, the ports made free ones, ``sudo -u postgres
psql`` pointed at the test's PostgreSQL server, and the experiment file made one whose
model is the loopback double. The three "machines" are three processes.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from model_double import model_double
from real_servers import PostgresServer, _pg_bin, free_port
from worker_task import Recorder, write_experiment
from workers_check import check_study, results, start

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- recipe: workers"


def recipe() -> list[str]:
    """The command lines of the README's recipe block (comments left out)."""
    text = README.read_text()
    block = text[text.index(MARKER) :].split("```")[1]
    lines = [line.strip() for line in block.splitlines()[1:]]
    return [line for line in lines if line and not line.startswith("#")]


def on_loopback(line: str, pg: PostgresServer, mlflow_port: int, experiment: Path) -> list[str]:
    psql = f"{_pg_bin('psql')} -h 127.0.0.1 -p {pg.port} -U postgres"
    replaced = (
        line.replace("sudo -u postgres psql", psql)
        .replace("@db:5432/", f"@127.0.0.1:{pg.port}/")
        .replace("http://db:5000", f"http://127.0.0.1:{mlflow_port}")
        .replace("--host 0.0.0.0 --port 5000", f"--host 127.0.0.1 --port {mlflow_port}")
        .replace("'db:*'", "'127.0.0.1:*'")
        .replace("experiments/quickstart.toml", str(experiment))
    )
    assert "db:" not in replaced.replace("postgres", ""), f"a host left unreplaced: {replaced}"
    return shlex.split(replaced)


def test_the_readme_three_machine_recipe_works_as_printed(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    create, server, worker = recipe()
    assert create.startswith("sudo -u postgres psql ")
    assert server.startswith("mlflow server ") and worker.startswith("autotune worker ")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    recorder, port = Recorder(), free_port()
    with model_double(recorder, latency_s=0.05) as double:
        experiment = write_experiment(tmp_path, double.base_url, name="recipe", trials=12)
        subprocess.run(on_loopback(create, postgres, port, experiment), check=True, timeout=60)
        mlflow = subprocess.Popen(
            on_loopback(server, postgres, port, experiment),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "mlflow.err").open("w"),
            start_new_session=True,  # uvicorn runs in child processes: stop the group
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", mlflow, tmp_path / "mlflow.err")
            command = [*on_loopback(worker, postgres, port, experiment), "--json"]
            names = ["machine-a", "machine-b", "machine-c"]
            workers = [start(command, tmp_path, name) for name in names]
            documents = results(workers, tmp_path, names)
            storage = command[command.index("--storage") + 1]
            tracking = f"http://127.0.0.1:{port}"
            facts = check_study(storage, "recipe", 12, documents, recorder, tracking)
        finally:
            os.killpg(mlflow.pid, signal.SIGTERM)
            mlflow.wait(60)
    assert len(facts["workers"]) >= 2, f"one worker did everything: {facts['workers']}"


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail("mlflow server did not answer within 240 s")
