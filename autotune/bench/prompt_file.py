"""Prompt files: read and write a :class:`Prompt`, check it fits a benchmark.

* ``.txt`` / ``.md``: the system text only; the user template is the suite's.
* ``.toml`` / ``.yaml`` / ``.json``: the :meth:`Prompt.to_dict` shape — ``system``,
  ``user_template``, ``demos`` (``inputs`` + ``output``), ``answer_strategy``
  (``strategy`` in older files), ``instruction_position``, ``temperature``,
  ``calibration`` (label to log mean probability, see
  :mod:`autotune.evaluate.calibration`), ``name``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pydantic
import tomli_w
import yaml

from autotune._atomic import write_atomic
from autotune.bench._locate import check_unicode, parse_document, validation_error, with_line
from autotune.bench.benchmark import Benchmark
from autotune.errors import ConfigError
from autotune.prompt import DEFAULT_USER_TEMPLATE, Demo, Prompt, template_fields

TEXT_SUFFIXES = (".txt", ".md")
STRUCTURED_SUFFIXES = (".toml", ".yaml", ".yml", ".json")


class _DemoSpec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    inputs: dict[str, Any]
    output: str | int | float | bool


class _PromptSpec(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = ""
    system: str = ""
    user_template: str | None = pydantic.Field(default=None, min_length=1)
    demos: list[_DemoSpec] = []
    answer_strategy: str = pydantic.Field(
        default="direct",
        min_length=1,
        validation_alias=pydantic.AliasChoices("answer_strategy", "strategy"),
    )
    instruction_position: Literal["system", "user"] = "system"
    temperature: float | None = pydantic.Field(default=None, ge=0.0, le=2.0)
    calibration: dict[str, float] = {}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("prompt file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read prompt file: {error}", file=str(path)) from None


def _from_spec(spec: _PromptSpec, path: Path, default_user_template: str) -> Prompt:
    template = spec.user_template or default_user_template
    needed = template_fields(template)
    for index, demo in enumerate(spec.demos):
        missing = sorted(needed - set(demo.inputs))
        if missing:
            message = f"lacks {{{missing[0]}}}, which the user template needs"
            raise ConfigError(message, file=str(path), field=f"demos[{index}].inputs")
    return Prompt(
        system=spec.system.strip(),
        user_template=template,
        demos=tuple(Demo.of(demo.inputs, str(demo.output)) for demo in spec.demos),
        answer_strategy=spec.answer_strategy,
        instruction_position=spec.instruction_position,
        temperature=spec.temperature,
        calibration=tuple(spec.calibration.items()),
        name=spec.name or path.stem,
    )


def load_prompt(path: str | Path, default_user_template: str = DEFAULT_USER_TEMPLATE) -> Prompt:
    """Read a prompt file.

    Args:
        path: ``.txt``/``.md`` (system text) or ``.toml``/``.yaml``/``.json`` (full prompt).
        default_user_template: The user template when the file sets none (the suite's).

    Raises:
        ConfigError: Unreadable file, bad syntax or an unknown/invalid key (names file,
            line and field).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + STRUCTURED_SUFFIXES:
        message = f"unsupported prompt file type {suffix!r} (use .txt, .md, .toml, .yaml or .json)"
        raise ConfigError(message, file=str(path))
    text = _read(path)
    if suffix in TEXT_SUFFIXES:
        if not text.strip():
            raise ConfigError("the prompt file is empty: write the instruction", file=str(path))
        return Prompt(system=text.strip(), user_template=default_user_template, name=path.stem)
    document = parse_document(path, text)
    if not isinstance(document, dict):
        raise ConfigError("a prompt file must hold a table of keys", file=str(path))
    check_unicode(document, path, text)
    try:
        spec = _PromptSpec.model_validate(document)
    except pydantic.ValidationError as error:
        raise validation_error(error, path, text) from None
    try:
        return _from_spec(spec, path, default_user_template)
    except ConfigError as error:
        raise with_line(error, path, text) from None


def _render(prompt: Prompt, path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        lost = [
            what
            for what, present in (
                ("demos", bool(prompt.demos)),
                (f"answer strategy {prompt.answer_strategy!r}", prompt.answer_strategy != "direct"),
                ("instruction_position 'user'", prompt.instruction_position != "system"),
                ("a tuned temperature", prompt.temperature is not None),
                ("a label calibration", bool(prompt.calibration)),
            )
            if present
        ]
        if lost:
            message = f"a {suffix} file holds only the system text; this prompt has {lost[0]}"
            raise ConfigError(message + " (save as .toml or .json)", file=str(path))
        return prompt.system.strip() + "\n"
    data = prompt.to_dict()
    if suffix == ".toml":
        try:
            return toml_text(data)
        except TypeError as error:  # e.g. None, which TOML cannot hold
            raise ConfigError(f"cannot write TOML: {error} (use .json)", file=str(path)) from None
    if suffix == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    message = f"unsupported prompt file type {suffix!r} (use .txt, .md, .toml, .yaml or .json)"
    raise ConfigError(message, file=str(path))


def toml_text(data: dict[str, Any]) -> str:
    """``data`` as TOML, multi-line strings kept readable.

    A carriage return inside a multi-line string would come back as a plain newline
    (TOML normalizes line ends there), so text with one is written escaped instead.
    """
    return tomli_w.dumps(data, multiline_strings=not _has_carriage_return(data))


def _has_carriage_return(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_carriage_return(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_carriage_return(v) for v in value)
    return False


def save_prompt(prompt: Prompt, path: str | Path) -> Path:
    """Write ``prompt`` in the format its suffix names; :func:`load_prompt` reads it back.

    The file is replaced atomically, so a crash never leaves half a prompt.

    Raises:
        ConfigError: The format cannot hold this prompt (demos in a ``.txt``).
    """
    path = Path(path)
    return write_atomic(path, _render(prompt, path))


def validate_prompt_fields(
    prompt: Prompt, benchmark: Benchmark, *, prompt_file: str | Path | None = None
) -> None:
    """Check every case has the fields the prompt's user template needs.

    Raises:
        ConfigError: Names the prompt file, the ``user_template`` field, the missing
            placeholder and the first case that lacks it.
    """
    needed = prompt.fields()
    for case in benchmark.cases:
        missing = sorted(needed - set(case.inputs))
        if missing:
            have = ", ".join(sorted(case.inputs)) or "none"
            message = (
                f"needs {{{missing[0]}}} but case {case.id} ({case.source}) has no such "
                f"field (it has: {have})"
            )
            raise ConfigError(
                message,
                file=str(prompt_file) if prompt_file is not None else None,
                field="user_template",
            )
