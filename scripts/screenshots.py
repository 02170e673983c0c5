"""Screenshots of what a user browses: the MLflow UI over a real store, and the reports.

Builds a small workspace (a study, an eval with Reflexion traces, a comparison, a
regression gate that promotes @production, a report) with the real CLI, serves the
MLflow UI with ``autotune ui``, and photographs in headless Chromium:

  01-experiments.png   the experiment list (one per study, one per benchmark)
  02-study-runs.png    a study: its parent run (with its datasets) and the trial count
  03-study-trials.png  the study's candidate runs side by side (params, metrics, durations)
  04-traces.png        the benchmark's traces (one per case)
  05-trace.png         one Reflexion case opened: a span per step and per model call
  06-datasets.png      the benchmark's dataset inputs
  07-prompt.png        the registered prompt with its @candidate and @production aliases
  08-report.png        the HTML report of the study
  09-compare.png       the comparison page (inputs, outputs, confusion matrices)

Usage: python scripts/screenshots.py [--out DIR] [--model fake|smollm2] [--work DIR]
Prints each PNG's path and size. Needs chromium (``make browser`` installs it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = """
name = "demo"
benchmark = "bench/suite.toml"
seed_prompt = "seed.txt"

[models]
task = "{model}"

[search]
n_trials = 8
pool_size = 4
n_generated = 2
demo_counts = [0, 2]
n_demo_sets = 2
strategies = ["direct", "step_by_step"]
positions = ["system", "user"]
temperatures = [0.0]
minibatch_size = 6
n_minibatches = 2
n_validate = 2
max_tokens = 24

[output]
dir = "out"
register_as = "demo-sentiment"
alias = "candidate"
"""
REFLEXION = 'system = "Label the review as positive or negative."\nanswer_strategy = "reflexion"\n'


def autotune(*args: str, check: bool = True) -> None:
    command = [sys.executable, "-m", "autotune.cli.main", *args]
    print("$ autotune", " ".join(args), flush=True)
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"autotune {args[0]} exited {done.returncode}")


def build_workspace(work: Path, model: str) -> None:
    shutil.copytree(REPO / "benchmarks" / "sentiment", work / "bench")
    shutil.copy(REPO / "experiments" / "sentiment_seed.txt", work / "seed.txt")
    (work / "exp.toml").write_text(EXPERIMENT.format(model=model))
    (work / "reflexion.toml").write_text(REFLEXION)
    suite = "bench/suite.toml"
    autotune("run", "exp.toml")
    autotune(
        "eval", "--bench", suite, "--prompt", "reflexion.toml", "--model", model, "--limit", "12"
    )
    autotune(
        "compare",
        "--bench",
        suite,
        "--model",
        model,
        "--prompt",
        "seed.txt",
        "--prompt",
        "out/best_prompt.toml",
        "--out",
        "reports/compare.html",
    )
    candidate = "prompts:/demo-sentiment@candidate"
    autotune(
        "regress",
        "--bench",
        suite,
        "--model",
        model,
        "--candidate",
        candidate,
        "--baseline",
        "seed.txt",
        "--promote",
        "production",
        "--tolerance",
        "1",
        check=False,
    )
    autotune("report", "demo", "--out", "reports/demo.html")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_ui(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "autotune.cli.main", "ui", "--port", str(port)]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    stop_ui(server)
    raise SystemExit("the MLflow UI did not start within 120 s")


def stop_ui(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and every worker it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("chromium not found: run `make browser` (Debian's chromium)")


def shoot(url: str, out: Path, *, height: int = 1000, budget_ms: int = 30000) -> Path:
    with tempfile.TemporaryDirectory(prefix="autotune-shot-") as profile:
        args = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--hide-scrollbars",
            f"--window-size=1900,{height}",
            f"--screenshot={out}",
            url,
        ]
        subprocess.run(args, capture_output=True, timeout=240, check=True)
    print(f"{out}  {out.stat().st_size / 1000:.0f} kB", flush=True)
    return out


def ids(work: Path) -> tuple[str, str, list[str], str]:
    """The study's and benchmark's experiment ids, the trial run ids, a Reflexion trace."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlruns' / 'mlflow.db'}")
    study = client.get_experiment_by_name("demo (study)")
    bench = client.get_experiment_by_name("sentiment (benchmark)")
    if study is None or bench is None:
        raise SystemExit("the workspace has no study or benchmark experiment")
    trials = client.search_runs(
        [study.experiment_id],
        filter_string="tags.`autotune.kind` != 'study'",  # trials or candidates
        order_by=["attributes.start_time ASC"],
    )
    evals = client.search_runs([bench.experiment_id], filter_string="tags.`autotune.kind` = 'eval'")
    traces = client.search_traces(
        locations=[bench.experiment_id], run_id=evals[0].info.run_id, max_results=1
    )
    trial_ids = [run.info.run_id for run in trials]
    return study.experiment_id, bench.experiment_id, trial_ids, traces[0].info.trace_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="mlruns/screenshots", help="where the PNGs go")
    parser.add_argument("--model", default="fake", help="model for every command")
    parser.add_argument("--work", default=None, help="workspace folder (default: a temp one)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="autotune-screens-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if not (work / "mlruns" / "mlflow.db").is_file():
        build_workspace(work, args.model)
    study, bench, trials, trace = ids(work)
    port = free_port()
    server = start_ui(port)
    base = f"http://127.0.0.1:{port}/#"
    compared = f"runs={quote(json.dumps(trials))}&experiments={quote(json.dumps([study]))}"
    opened = f"selectedEvaluationId={trace}&traceId={trace}&compareRunsMode=TRACES"
    try:
        shoot(f"{base}/experiments", out / "01-experiments.png")
        shoot(f"{base}/experiments/{study}/runs", out / "02-study-runs.png")
        shoot(f"{base}/compare-runs?{compared}", out / "03-study-trials.png", height=1600)
        shoot(f"{base}/experiments/{bench}/traces", out / "04-traces.png")
        shoot(f"{base}/experiments/{bench}/traces?{opened}", out / "05-trace.png")
        shoot(f"{base}/experiments/{bench}/datasets", out / "06-datasets.png")
        shoot(f"{base}/prompts/demo-sentiment", out / "07-prompt.png")
    finally:
        stop_ui(server)
    shoot((work / "reports" / "demo.html").as_uri(), out / "08-report.png", height=3200)
    shoot((work / "reports" / "compare.html").as_uri(), out / "09-compare.png", height=2000)
    print(f"workspace: {work}")


if __name__ == "__main__":
    main()
