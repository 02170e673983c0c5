"""``autotune run --workers N``: N-1 more local ``autotune worker`` processes.

The command's own process is worker number one and shows the live view; the others
run the same study from the same storage with their output in a temporary file, shown
only if one of them fails. All of them stop when the command is interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from autotune.errors import ConfigError
from autotune.search.storage import default_storage_url, storage_kind

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.experiment import Experiment

STOP_WAIT_S = 60.0


def worker_command(args: argparse.Namespace, experiment: Experiment, storage: str) -> list[str]:
    """``autotune worker`` with this run's resolved study, trials and options."""
    command = [sys.executable, "-m", "autotune.cli.main", "worker", args.experiment]
    command += ["--study", experiment.name, "--trials", str(experiment.search.n_trials)]
    command += ["--storage", storage, "--concurrency", str(experiment.search.concurrency)]
    options = {
        "--tracking-uri": args.tracking_uri,
        "--experiment": args.mlflow_experiment,
        "--cache-dir": args.cache_dir,
        "--timeout": args.timeout,
        "--retries": args.retries,
    }
    command += [
        part for key, value in options.items() if value is not None for part in (key, str(value))
    ]
    flags = {"--no-track": args.no_track, "--no-cache": args.no_cache, "--force": args.force}
    return command + [flag for flag, on in flags.items() if on]


@contextlib.contextmanager
def local_workers(
    args: argparse.Namespace, experiment: Experiment, console: Console
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``args.workers - 1`` helper processes for the block; wait for them after."""
    count = int(getattr(args, "workers", 1) or 1)
    if count < 1:
        raise ConfigError(f"must be at least 1, got {count}", field="--workers")
    if count == 1:
        yield []
        return
    storage = experiment.tracking.storage or default_storage_url()
    if storage_kind(storage) == "memory":
        raise ConfigError("workers need a storage they share, not :memory:", field="--storage")
    experiment.tracking.storage = storage  # this process joins the same study
    command = worker_command(args, experiment, storage)
    workers: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(count - 1)]
        try:
            for log in logs:
                workers.append(
                    subprocess.Popen(
                        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
                    )
                )
            yield workers
        except BaseException:
            _stop(workers)
            raise
        finally:
            _report(workers, logs, console)


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """Ctrl-C for each helper still running (each fails its candidate and stops)."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGINT)
    for worker in workers:
        try:
            worker.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _report(
    workers: list[subprocess.Popen[bytes]], logs: Sequence[IO[Any]], console: Console
) -> None:
    """Wait for the helpers (they end with the shared final phase); name failures."""
    for number, (worker, log) in enumerate(zip(workers, logs, strict=True), start=2):
        code = worker.wait()
        log.seek(0)
        lines = [line for line in log.read().decode(errors="replace").splitlines() if line]
        if code not in (0, -signal.SIGINT, 130):
            last = lines[-1] if lines else "(no output)"
            console.print(f"worker {number} exited with code {code}: {last}", markup=False)
