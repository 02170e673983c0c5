"""Installed size, distributions, import time and CLI start-up of several installs.

Each install is a virtual environment (for example today's ``pip install .`` against
the dependency set before the lean extras). Per environment: the size of its
site-packages, how many distributions it holds, ``python -X importtime -c "import
autotune"`` (autotune's own cumulative import time) and the wall time and CPU seconds
of a process that
imports autotune, runs ``autotune --help`` and ``autotune doctor --json``. Timings are
medians over ``--runs`` rounds, the environments interleaved in an order rotated per
round, so that load from other processes falls on all of them alike. Children run
without ``LITELLM_LOCAL_MODEL_COST_MAP`` in a scratch working directory.

Usage: python benchmarks/bench_base_install.py before=VENV after=OTHER_VENV [--runs 7]
Writes benchmarks/results/base_install.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULT_PATH = Path(__file__).parent / "results" / "base_install.json"
# Wall clock, and CPU seconds of the child (user + system), which a loaded machine
# disturbs far less than the wall clock.
TIMED = (
    "import_wall_s",
    "help_s",
    "doctor_json_s",
    "import_cpu_s",
    "help_cpu_s",
    "doctor_json_cpu_s",
)


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        sys.exit(f"{venv}: no lib/python3*/site-packages")
    return found[0]


def tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def static_facts(venv: Path) -> dict[str, Any]:
    site = site_packages(venv)
    dists = sorted(p.name.split("-")[0] for p in site.glob("*.dist-info"))
    return {
        "site_packages_mb": round(tree_bytes(site) / 2**20, 1),
        "distributions": len(dists),
        "has_llama_cpp": "llama_cpp_python" in dists,
        "has_litellm": "litellm" in dists,
        "has_dspy": "dspy" in dists,
    }


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (the child and its waited-for children), exit code, output."""
    started, cpu = time.perf_counter(), children_cpu_s()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall, cpu = time.perf_counter() - started, children_cpu_s() - cpu
    return wall, cpu, done.returncode, done.stdout + done.stderr


def autotune_import_us(python: str, env: dict[str, str], cwd: str) -> int:
    """autotune's cumulative import time, as ``-X importtime`` reports it (microseconds)."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "import autotune"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    for line in reversed(done.stderr.splitlines()):
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*autotune$", line)
        if match:
            return int(match.group(1))
    raise RuntimeError(f"no 'autotune' line in -X importtime output of {python}")


def one_round(venv: Path, env: dict[str, str], cwd: str) -> dict[str, Any]:
    python, cli = str(venv / "bin" / "python"), str(venv / "bin" / "autotune")
    import_s, import_cpu, _, _ = timed([python, "-c", "import autotune"], env, cwd)
    help_s, help_cpu, _, _ = timed([cli, "--help"], env, cwd)
    doctor_s, doctor_cpu, code, out = timed([cli, "doctor", "--json"], env, cwd)
    no_doctor = "invalid choice" in out
    return {
        "import_us": autotune_import_us(python, env, cwd),
        "import_wall_s": import_s,
        "import_cpu_s": import_cpu,
        "help_cpu_s": help_cpu,
        "doctor_json_cpu_s": None if no_doctor else doctor_cpu,
        "help_s": help_s,
        "doctor_json_s": None if no_doctor else doctor_s,
        "doctor_exit": code,
    }


def measure(venvs: dict[str, Path], runs: int) -> dict[str, list[dict[str, Any]]]:
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    names = list(venvs)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as cwd:
        for index in range(runs + 1):  # the first round warms the file cache, not kept
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                result = one_round(venvs[name], env, cwd)
                if index:
                    rounds[name].append(result)
    return rounds


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "import_us_median": statistics.median(r["import_us"] for r in rounds),
        "doctor_exit": rounds[-1]["doctor_exit"],
    }
    for key in TIMED:
        values = [r[key] for r in rounds if r[key] is not None]
        out[key + "_median"] = statistics.median(values) if values else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venvs", nargs="+", help="NAME=VENV_DIR")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULT_PATH)
    args = parser.parse_args()
    venvs = {name: Path(path) for name, path in (item.split("=", 1) for item in args.venvs)}
    load_before = os.getloadavg()
    rounds = measure(venvs, args.runs)
    installs = {
        name: {**static_facts(venv), **summarize(rounds[name])} for name, venv in venvs.items()
    }
    report = {
        "runs": args.runs,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "installs": installs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("medians; seconds wall | CPU seconds of the child; import ms from -X importtime")
    print(
        f"{'install':<14}{'MB':>8}{'dists':>7}{'import ms':>11}"
        + "".join(f"{k:>19}" for k in TIMED)
    )
    for name, row in installs.items():
        cells = "".join(
            f"{'-' if row[k + '_median'] is None else round(row[k + '_median'], 3)!s:>19}"
            for k in TIMED
        )
        print(
            f"{name:<14}{row['site_packages_mb']:>8.1f}{row['distributions']:>7}"
            f"{row['import_us_median'] / 1000:>11.1f}{cells}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
