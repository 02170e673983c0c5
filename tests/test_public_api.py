"""The public facade: every advertised name resolves, and the import stays light."""

from __future__ import annotations

import os
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


def test_no_command_needs_litellm_or_its_offline_variable() -> None:
    """A base install has no litellm; nothing autotune runs may import it."""
    code = (
        "import sys, os; os.environ.pop('LITELLM_LOCAL_MODEL_COST_MAP', None); "
        "import autotune.cli.main as m, autotune.llm.accounting as a; "
        "m.build_parser(); a.price_usd('openai', 'gpt-4o-mini', 10, 10); "
        "import mlflow, optuna; print('litellm' in sys.modules, 'dspy' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False False"
