"""``autotune doctor``: is this installation able to do its work? One line per check.

Each check returns a :class:`Check` (pass, fail, or skip where it does not apply, such
as the embedded model on an install without ``autotune[local]``). A failed check says
what is wrong and, where there is one, the command that fixes it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One check's outcome."""

    name: str
    status: Status
    detail: str


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def llama_system_info() -> str:
    """llama.cpp's own report of the CPU features this build uses."""
    import llama_cpp

    info: bytes = llama_cpp.llama_print_system_info()
    return info.decode(errors="replace")


def enabled_features(system_info: str) -> list[str]:
    """Names of the features the system info reports as on (``AVX2 = 1``)."""
    return [
        name for name, value in re.findall(r"([A-Z0-9_]+) = (\d+)", system_info) if value != "0"
    ]


def check_python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", "pass" if ok else "fail", platform.python_version())


def check_packages() -> list[Check]:
    checks = [Check("autotune", "pass", version_of("autotune") or "source checkout")]
    for name in ("mlflow", "optuna", "openai"):
        found = version_of(name)
        checks.append(Check(name, "pass" if found else "fail", found or "not installed"))
    return checks


def check_llama_build() -> Check:
    """The llama.cpp build and its CPU features; AMX is a failure (it segfaults)."""
    from autotune.llm.backend_check import llama_cpp_version, rebuild_command

    version = llama_cpp_version()
    if version is None:
        return Check("llama.cpp build", "skip", "not installed (pip install 'autotune[local]')")
    features = enabled_features(llama_system_info())
    shown = f"llama-cpp-python {version}, CPU features: {' '.join(features) or 'none'}"
    amx = [name for name in features if name.startswith("AMX")]
    if amx:
        return Check("llama.cpp build", "fail", f"{shown}; AMX crashes: {rebuild_command()}")
    return Check("llama.cpp build", "pass", shown)


def check_embedded_model() -> Check:
    """Load the embedded model in a child process and generate a few tokens."""
    from autotune.errors import LLMError
    from autotune.llm.backend_check import check_backend, llama_cpp_version, rebuild_command
    from autotune.llm.embedded import default_gguf_path

    if llama_cpp_version() is None:
        return Check("embedded model", "skip", "llama-cpp-python not installed")
    try:
        path = default_gguf_path()
    except LLMError as exc:
        return Check("embedded model", "fail", str(exc))
    started = time.perf_counter()
    verdict = check_backend(path, remember=False)
    took = time.perf_counter() - started
    if not verdict.ok:
        return Check("embedded model", "fail", f"{verdict.detail}; {rebuild_command()}")
    return Check("embedded model", "pass", f"{path.name} answered in {took:.1f} s")


def writable(path: Path) -> bool:
    """Whether ``path`` (a directory, existing or to be created) can take a new file."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=probe):
            return True
    except OSError:
        return False


def check_location(name: str, directory: Path, shown: str) -> Check:
    ok = writable(directory)
    return Check(
        name, "pass" if ok else "fail", f"{shown} ({'writable' if ok else 'NOT writable'})"
    )


def check_stores() -> list[Check]:
    from autotune.llm.cache import DEFAULT_CACHE_PATH
    from autotune.search._study import DEFAULT_STORAGE_FILE
    from autotune.tracking.mlflow_sink import resolve_tracking_uri

    checks = [check_location("response cache", DEFAULT_CACHE_PATH.parent, str(DEFAULT_CACHE_PATH))]
    uri = resolve_tracking_uri(None)
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        checks.append(check_location("mlflow store", db.parent, uri))
    elif uri.startswith(("http://", "https://")):
        checks.append(check_http("mlflow store", uri.rstrip("/") + "/health", {}))
    else:
        checks.append(Check("mlflow store", "pass", uri))
    optuna_db = DEFAULT_STORAGE_FILE.resolve()
    checks.append(check_location("optuna storage", optuna_db.parent, f"sqlite:///{optuna_db}"))
    return checks


def check_http(name: str, url: str, headers: dict[str, str], timeout_s: float = 5.0) -> Check:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return Check(name, "pass", f"{url} answered {response.status}")
    except urllib.error.HTTPError as exc:
        return Check(name, "fail", f"{url} answered {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(name, "fail", f"{url} did not answer: {reason}")


def check_openai_endpoint() -> Check:
    base = os.environ.get("OPENAI_BASE_URL")
    if not base:
        return Check("openai endpoint", "skip", "OPENAI_BASE_URL is not set")
    from autotune.llm.urls import display_url, split_credentials

    url, headers = split_credentials(base.rstrip("/"))
    key = os.environ.get("OPENAI_API_KEY")
    if key and not headers:
        headers = {"Authorization": f"Bearer {key}"}
    check = check_http("openai endpoint", url + "/models", headers)
    return Check(check.name, check.status, check.detail.replace(url, display_url(url)))


CHECKS: tuple[Callable[[], Check | list[Check]], ...] = (
    check_python,
    check_packages,
    check_llama_build,
    check_embedded_model,
    check_stores,
    check_openai_endpoint,
)


def run_checks() -> list[Check]:
    """Every check, in order; a check that raises is a failed check, not a crash."""
    results: list[Check] = []
    for check in CHECKS:
        try:
            outcome = check()
        except Exception as exc:  # doctor reports, it never dies on what it inspects
            name = check.__name__.removeprefix("check_").replace("_", " ")
            outcome = Check(name, "fail", f"{type(exc).__name__}: {exc}")
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results
