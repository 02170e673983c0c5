"""Prompt arguments shared by compare, regress and report: a file or a registry URI."""

from __future__ import annotations

from dataclasses import dataclass

from autotune.answer_strategies import get_answer_strategy
from autotune.bench.benchmark import Benchmark
from autotune.bench.prompt_file import load_prompt, validate_prompt_fields
from autotune.errors import ConfigError
from autotune.prompt import Prompt
from autotune.tracking.mlflow_sink import quiet_store_migrations

REGISTRY_SCHEME = "prompts:/"


@dataclass(frozen=True)
class ResolvedPrompt:
    """A prompt and where it came from.

    Attributes:
        prompt: The prompt itself.
        spec: What the user typed (a path or a ``prompts:/`` URI).
        registry_name: The registered prompt's name, for a registry URI.
        version: The registered version the URI resolved to.
    """

    prompt: Prompt
    spec: str
    registry_name: str | None = None
    version: int | None = None

    @property
    def from_registry(self) -> bool:
        return self.registry_name is not None

    @property
    def label(self) -> str:
        """A short name for tables: ``name@alias (v3)``, ``name/3`` or the file's stem."""
        if self.registry_name is None:
            return self.prompt.name or self.spec
        uri = self.spec[len(REGISTRY_SCHEME) :]
        return uri if "@" not in uri else f"{uri} (v{self.version})"


def is_registry_uri(spec: str) -> bool:
    """Whether ``spec`` names a registered prompt rather than a file."""
    return spec.startswith(REGISTRY_SCHEME)


def resolve_prompt(
    spec: str, user_template: str, *, tracking_uri: str | None = None
) -> ResolvedPrompt:
    """Load the prompt ``spec`` names.

    Args:
        spec: A prompt file (``.txt``/``.md``/``.toml``/``.yaml``/``.json``) or a
            registry URI (``prompts:/name@alias``, ``prompts:/name/3``).
        user_template: The user template for plain-text prompt files (the suite's).
        tracking_uri: The MLflow store that holds the registry.

    Raises:
        ConfigError: Unreadable file, malformed URI, or no such registered prompt.
    """
    if not is_registry_uri(spec):
        return ResolvedPrompt(load_prompt(spec, user_template), spec)
    from autotune.tracking.registry import load_registered_prompt, parse_prompt_uri

    quiet_store_migrations()
    name, _, _ = parse_prompt_uri(spec)
    prompt, version = load_registered_prompt(spec, tracking_uri=tracking_uri)
    if not prompt.name:
        prompt = prompt.with_(name=name)
    return ResolvedPrompt(prompt, spec, registry_name=name, version=version)


def check_prompt(resolved: ResolvedPrompt, benchmark: Benchmark) -> None:
    """Fail before any model call when the prompt cannot run on the benchmark.

    Raises:
        ConfigError: Unknown strategy, or a placeholder the cases cannot fill (names
            the prompt's file or URI).
    """
    try:
        get_answer_strategy(resolved.prompt.answer_strategy)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=resolved.spec, field="strategy") from None
    validate_prompt_fields(resolved.prompt, benchmark, prompt_file=resolved.spec)
