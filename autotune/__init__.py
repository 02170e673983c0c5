"""autotune: a prompt autotuner.

A Meta-LLM writes, critiques and refines prompts; an Optuna study searches over them;
MLflow tracks every trial. The public API is re-exported here; everything else is
an implementation detail.
"""

from __future__ import annotations

import os

# Offline, litellm (imported by dspy and mlflow) downloads its price map at import and
# can deadlock; default to the copy it ships before anything imports it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autotune.errors import (
    AutotuneError,
    BudgetExceeded,
    ConfigError,
    DataError,
    LLMError,
    UserInputError,
)
from autotune.prompt import Demo, Prompt

__version__ = "0.1.0"

__all__ = [
    "AutotuneError",
    "BudgetExceeded",
    "ConfigError",
    "DataError",
    "Demo",
    "LLMError",
    "Prompt",
    "UserInputError",
    "__version__",
]
