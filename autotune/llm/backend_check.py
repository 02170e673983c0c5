"""Can this llama.cpp build generate on this machine? Asked once, in a subprocess.

A llama.cpp build with the wrong CPU kernels (the AMX matmul of a native build on many
Intel Xeons) does not fail: it kills the process with SIGSEGV at the first generation.
Before a process first loads a GGUF model, :func:`ensure_backend_works` runs a tiny
generation in a child process. A child killed by a signal becomes one line naming the
signal and the one command that rebuilds the backend portably. The verdict is kept in
the user's cache, keyed by the build's files and the CPU, so it is paid once per build
and machine.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from autotune.errors import LLMError

PORTABLE_FLAGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
CHECK_TIMEOUT_S = 180.0
# Bumped whenever the child's test changes, so verdicts of an older test are not trusted.
CHECK_VERSION = "2"
# The AMX crash needs a prompt of two or more tokens in one batch (measured: a
# one-token prompt like "Hello" generates fine on a build that dies on any longer one),
# so the child runs a real chat request, as autotune does, over a prompt of ~100 tokens.
CHECK_MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence. " * 6},
    {"role": "user", "content": "Name three primary colours and one fruit of each colour."},
]
_checked: set[str] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class CheckVerdict:
    """What the child process showed: it generated, or how it failed.

    ``crashed`` is a death by signal or a hang: the build, not the model file, is at
    fault. A plain error exit (an unreadable model file, say) is left to the caller's
    own load, which reports it better. ``hung`` marks a timeout, which a loaded machine
    can cause too: it fails this process but is not remembered.
    """

    ok: bool
    detail: str
    crashed: bool = False
    hung: bool = False


def rebuild_command() -> str:
    """The one command that reinstalls llama-cpp-python built portably, from source."""
    version = llama_cpp_version() or "0.3.36"
    return (
        f'CMAKE_ARGS="{PORTABLE_FLAGS}" {sys.executable} -m pip install --force-reinstall '
        f"--no-cache-dir --no-deps --no-binary llama-cpp-python 'llama-cpp-python=={version}'"
        " (in a checkout: make rebuild-llama)"
    )


def llama_cpp_version() -> str | None:
    try:
        return importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return None


def _library_files() -> list[Path]:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p for p in root.rglob("*") if p.suffix in {".so", ".dylib", ".dll"})


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def build_key(model_path: Path) -> str:
    """Identifies this build (its shared libraries), this CPU and the model file."""
    parts = [CHECK_VERSION, str(llama_cpp_version()), platform.machine(), _cpu_flags()]
    parts.append(str(model_path))
    for path in [*_library_files(), model_path]:
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def verdict_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autotune" / "backend-check"


def child_command(model_path: Path) -> list[str]:
    """The child that loads the model and generates a few tokens."""
    return [sys.executable, "-m", "autotune.llm.backend_check", str(model_path)]


def run_check(command: Sequence[str], timeout_s: float = CHECK_TIMEOUT_S) -> CheckVerdict:
    """Run the child; a signal, a non-zero exit or a timeout is a failed check."""
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return CheckVerdict(False, f"no answer within {timeout_s:.0f} s", crashed=True, hung=True)
    except OSError as exc:
        return CheckVerdict(False, f"could not start the check: {exc}")
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return CheckVerdict(False, f"the process died with {name}", crashed=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return CheckVerdict(False, lines[-1] if lines else f"exit code {done.returncode}")
    return CheckVerdict(True, done.stdout.strip()[-200:])


def check_backend(model_path: Path, *, remember: bool = True) -> CheckVerdict:
    """The verdict for this build, machine and model: remembered, or run now."""
    key = build_key(model_path)
    record = verdict_dir() / f"{key}.json"
    if remember:
        try:
            return CheckVerdict(**json.loads(record.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    verdict = run_check(child_command(model_path), CHECK_TIMEOUT_S)
    # An error exit may be passing and a hang may be load: only these two are lasting.
    if remember and (verdict.ok or (verdict.crashed and not verdict.hung)):
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(asdict(verdict)))
        except OSError:
            pass  # a read-only home only means the check runs again next time
    return verdict


def ensure_backend_works(model_path: Path) -> None:
    """Raise one clear :class:`LLMError` when this build crashes or hangs generating here.

    Set ``AUTOTUNE_SKIP_BACKEND_CHECK=1`` to skip the check (at your own risk).
    """
    if os.environ.get("AUTOTUNE_SKIP_BACKEND_CHECK") == "1":
        return
    with _lock:
        if str(model_path) in _checked:
            return
        verdict = check_backend(model_path)
        if not verdict.crashed:
            _checked.add(str(model_path))
            return
    raise LLMError(
        f"the embedded model cannot generate with this llama.cpp build "
        f"(llama-cpp-python {llama_cpp_version()}): {verdict.detail}; "
        f"rebuild it portably: {rebuild_command()}"
    )


def _generate_once(model_path: str) -> None:
    from llama_cpp import Llama

    llama = Llama(model_path=model_path, n_ctx=512, verbose=False)
    out = llama.create_chat_completion(messages=CHECK_MESSAGES, max_tokens=4, temperature=0.0)
    llama.close()  # at interpreter exit its finalizer would print a harmless traceback
    usage = out["usage"]
    print(f"ok: {usage['prompt_tokens']} prompt tokens, {usage['completion_tokens']} generated")


if __name__ == "__main__":
    _generate_once(sys.argv[1])
