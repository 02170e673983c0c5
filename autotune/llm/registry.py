"""Model strings → models: the one factory, :func:`load_llm`.

A model string names a backend and, after a colon, what that backend needs::

    smollm2 | local                      embedded SmolLM2 (llama-cpp-python)
    gguf:/path/model.gguf                any GGUF file (llama-cpp-python)
    openai:MODEL[@http://host:port/v1]   any OpenAI-compatible server
    fake                                 a scripted echo model, for smoke tests

Backends are looked up by name in :data:`BACKENDS`; a plugin adds one with
:func:`register_backend`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autotune.errors import ConfigError
from autotune.llm.accounting import Budget, MeteredLLM, UsageMeter
from autotune.llm.base import BaseLLM
from autotune.llm.cache import DEFAULT_CACHE_PATH, CachedLLM
from autotune.llm.types import Message, SamplingParams
from autotune.llm.urls import redact_urls


@dataclass(frozen=True)
class BackendOptions:
    """Options a backend factory may use (each ignores what does not apply to it)."""

    base_url: str | None = None
    n_ctx: int | None = None
    n_threads: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None


BackendFactory = Callable[[str, BackendOptions], BaseLLM]
"""``(argument after the colon, options) -> model``; raise ConfigError for a bad argument."""


def _model_error(spec: str, problem: str) -> ConfigError:
    return ConfigError(f"{problem} in model string {spec!r}", field="model")


def _embedded(argument: str, options: BackendOptions) -> BaseLLM:
    from autotune.llm.embedded import LlamaCppLLM

    return LlamaCppLLM(
        model_path=Path(argument) if argument else None,
        n_ctx=options.n_ctx or 2048,
        n_threads=options.n_threads,
    )


def _smollm2(argument: str, options: BackendOptions) -> BaseLLM:
    if argument:
        raise ConfigError(f"'smollm2' takes no argument, got {argument!r}", field="model")
    return _embedded("", options)


def _gguf(argument: str, options: BackendOptions) -> BaseLLM:
    if not argument:
        raise ConfigError("'gguf:' needs a file path, e.g. gguf:/models/x.gguf", field="model")
    return _embedded(argument, options)


def split_openai_argument(argument: str) -> tuple[str, str | None]:
    """``MODEL[@URL]`` -> ``(model, url or None)``; the URL checked when there is one.

    Any ``@`` starts a URL: a model name is never sent with a malformed URL glued to it
    (it would go to the default endpoint, with the user's data).

    Raises:
        ConfigError: No model name, or what follows the ``@`` is not an http(s) URL.
    """
    from autotune.llm.urls import check_base_url

    model, at, url = argument.partition("@")
    model = model.strip()
    if not model:
        raise ConfigError(
            "'openai:' needs a model name, e.g. openai:gpt-4o-mini[@http://host:port/v1]",
            field="model",
        )
    if not at:
        return model, None
    return model, check_base_url(url, field="model")


def _openai(argument: str, options: BackendOptions) -> BaseLLM:
    from autotune.llm.openai_compat import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, OpenAICompatLLM

    model, url = split_openai_argument(argument)
    return OpenAICompatLLM(
        model,
        base_url=url or options.base_url,
        timeout_s=DEFAULT_TIMEOUT_S if options.timeout_s is None else options.timeout_s,
        max_retries=DEFAULT_MAX_RETRIES if options.max_retries is None else options.max_retries,
    )


def _echo(messages: Sequence[Message], params: SamplingParams) -> str:
    return messages[-1].content if messages else ""


def _fake(argument: str, options: BackendOptions) -> BaseLLM:
    from autotune.llm.fake import ScriptedLLM

    if argument:
        raise ConfigError(f"'fake' takes no argument, got {argument!r}", field="model")
    return ScriptedLLM(_echo, model_id="echo")


BACKENDS: dict[str, BackendFactory] = {
    "smollm2": _smollm2,
    "local": _smollm2,
    "gguf": _gguf,
    "openai": _openai,
    "fake": _fake,
}
"""Backend name → factory. Names are what a user types before the colon."""


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``name:ARGUMENT`` model strings build models with ``factory``."""
    BACKENDS[name] = factory


def parse_model_spec(spec: str) -> tuple[str, str]:
    """Split a model string into ``(backend name, argument)``.

    Raises:
        ConfigError: Empty string or unknown backend (field ``model``).
    """
    text = spec.strip()
    if not text:
        raise ConfigError("empty model string", field="model")
    name, _, argument = text.partition(":")
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise _model_error(redact_urls(spec), f"unknown backend {name!r} (known: {known})")
    if name == "openai":
        split_openai_argument(argument.strip())  # a bad URL fails before anything loads
    return name, argument.strip()


def load_llm(
    spec: str,
    *,
    base_url: str | None = None,
    cache_path: str | Path | None = None,
    no_cache: bool = False,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    meter: UsageMeter | None = None,
    budget: Budget | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
) -> MeteredLLM:
    """Build the model a model string names, wrapped in a response cache and a meter.

    Args:
        spec: The model string (see the module docstring).
        base_url: OpenAI-compatible server URL (else ``@URL`` in ``spec``, else
            ``$OPENAI_BASE_URL``).
        cache_path: Response cache file; default ``.autotune-cache/responses.sqlite``
            in the working directory. The ``fake`` model is cached only when given.
        no_cache: Turn the response cache off.
        n_ctx: Context size for GGUF models.
        n_threads: CPU threads for GGUF models.
        meter: Usage totals to add to (a new meter if omitted; see ``llm.meter``).
        budget: Limits checked before every call.
        timeout_s: Per-request timeout for HTTP backends.
        max_retries: Retries for HTTP backends.

    Returns:
        A :class:`~autotune.llm.accounting.MeteredLLM` (a :class:`BaseLLM`; its
        ``meter`` holds the usage) around the (cached) model.

    Raises:
        ConfigError: A malformed model string (field ``model``).
        LLMError: The model cannot be built (e.g. a missing GGUF file).
    """
    name, argument = parse_model_spec(spec)
    options = BackendOptions(base_url, n_ctx, n_threads, timeout_s, max_retries)
    llm = BACKENDS[name](argument, options)
    cache_default = None if name == "fake" else DEFAULT_CACHE_PATH
    path = cache_path if cache_path is not None else cache_default
    if path is not None and not no_cache:
        llm = CachedLLM(llm, path)
    return MeteredLLM(llm, meter, budget)
