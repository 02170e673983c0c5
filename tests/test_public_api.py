"""The public facade: every advertised name resolves, and the import stays light."""

from __future__ import annotations

import subprocess
import sys

import autotune


def test_every_public_name_resolves() -> None:
    for name in autotune.__all__:
        assert getattr(autotune, name) is not None, name


def test_importing_autotune_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, autotune; "
        "print(sorted(m for m in ('optuna', 'mlflow', 'llama_cpp', 'dspy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
