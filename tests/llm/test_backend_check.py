"""The first-load check: a child that dies by a signal becomes one clear error."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from autotune import doctor
from autotune.errors import LLMError
from autotune.llm import backend_check
from autotune.llm.backend_check import CheckVerdict, run_check

SEGFAULT_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_a_child_killed_by_sigsegv_is_a_crash_naming_the_signal() -> None:
    verdict = run_check(SEGFAULT_CHILD)
    assert verdict == CheckVerdict(False, "the process died with SIGSEGV", crashed=True)


def test_a_hanging_child_is_a_crash() -> None:
    verdict = run_check([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)
    assert verdict.crashed and "no answer within" in verdict.detail


def test_a_hang_fails_this_process_but_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A timeout can be a loaded machine, not the build: the next process asks again.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(backend_check, "CHECK_TIMEOUT_S", 0.5)
    hang = [sys.executable, "-c", "import time; time.sleep(30)"]
    monkeypatch.setattr(backend_check, "child_command", lambda path: hang)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    assert backend_check.check_backend(model).crashed
    monkeypatch.setattr(backend_check, "child_command", lambda path: [sys.executable, "-c", ""])
    assert backend_check.check_backend(model).ok


def test_a_pass_of_an_older_check_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Version 1 asked for a one-token prompt, which a crashing AMX build passes.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    monkeypatch.setattr(backend_check, "CHECK_VERSION", "1")
    monkeypatch.setattr(backend_check, "child_command", lambda path: [sys.executable, "-c", ""])
    assert backend_check.check_backend(model).ok
    monkeypatch.setattr(backend_check, "CHECK_VERSION", "2")
    monkeypatch.setattr(backend_check, "child_command", lambda path: SEGFAULT_CHILD)
    assert backend_check.check_backend(model).crashed


def test_an_error_exit_is_not_a_crash_and_keeps_the_last_line() -> None:
    verdict = run_check([sys.executable, "-c", "raise SystemExit('cannot read model.gguf')"])
    assert verdict == CheckVerdict(False, "cannot read model.gguf", crashed=False)


def test_a_crashing_build_is_one_error_with_the_rebuild_command_and_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOTUNE_SKIP_BACKEND_CHECK", raising=False)
    monkeypatch.setattr(backend_check, "child_command", lambda path: SEGFAULT_CHILD)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    with pytest.raises(LLMError) as caught:
        backend_check.ensure_backend_works(model)
    message = str(caught.value)
    assert "SIGSEGV" in message and "--no-binary llama-cpp-python" in message
    assert "GGML_NATIVE=OFF" in message and "\n" not in message
    # The verdict is kept for this build and machine: no second child process.
    monkeypatch.setattr(backend_check, "child_command", lambda path: ["/nonexistent/never-run"])
    with pytest.raises(LLMError, match="SIGSEGV"):
        backend_check.ensure_backend_works(model)
    assert list((tmp_path / "cache" / "autotune" / "backend-check").glob("*.json"))


@pytest.mark.embedded
def test_the_installed_llama_cpp_build_does_not_use_amx() -> None:
    features = doctor.enabled_features(doctor.llama_system_info())
    assert "AVX2" in features or not sys.platform.startswith("linux")
    assert not [name for name in features if name.startswith("AMX")], features


@pytest.mark.embedded
def test_the_installed_build_generates_in_a_child_process(embedded_gguf_path: Path) -> None:
    verdict = backend_check.check_backend(embedded_gguf_path, remember=False)
    assert verdict.ok, verdict.detail
    # The AMX crash needs a prompt batch of 2+ tokens; a 1-token prompt passed a
    # crashing build. The child must evaluate a real, multi-token prompt.
    match = re.search(r"ok: (\d+) prompt tokens, (\d+) generated", verdict.detail)
    assert match and int(match.group(1)) >= 32 and int(match.group(2)) >= 1, verdict.detail


def test_the_rebuild_command_uses_the_flags_the_makefile_builds_with() -> None:
    # Two copies of the portable flags (the script and the one-line hint) must agree.
    script = Path(__file__).parents[2] / "scripts" / "llama-wheel.sh"
    x86 = script.read_text().split("x86_64|amd64)", 1)[1].split(";;", 1)[0]
    match = re.search(r'default_flags="([^"]+)"', x86)
    assert match, "no default_flags for x86_64 in scripts/llama-wheel.sh"
    script_flags = set(match.group(1).split())
    script_flags -= {"-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"}
    assert set(backend_check.PORTABLE_FLAGS.split()) == script_flags
