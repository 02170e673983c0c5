"""Best-effort line numbers for config errors, and one-line pydantic errors.

Suite and prompt files are TOML, YAML or JSON; instead of a position-tracking parser for
each, the key a field path names is looked up in the text. Good enough to point a user
at the right line; when unsure it says nothing rather than something wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pydantic
import yaml

from autotune.errors import ConfigError

PathPart = str | int
_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_TOML_LINE = re.compile(r"at line (\d+)")


def field_path(loc: Sequence[PathPart]) -> str:
    """``("metrics", 0, "weight")`` -> ``metrics[0].weight``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def split_field_path(path: str) -> list[PathPart]:
    """``metrics[0].weight`` -> ``["metrics", 0, "weight"]``."""
    return [int(index) if index else key for key, index in _FIELD_PART.findall(path)]


def _key_pattern(key: str) -> re.Pattern[str]:
    # A key at a line start (YAML "- key:", TOML "key =", "[key]", "[[a.key]]", JSON
    # '"key":') or after "{" / "," in a TOML inline table.
    name = rf"[\"']?{re.escape(key)}[\"']?"
    start = r"(?:^\s*(?:-\s+)?(?:\[\[?\s*)?(?:[\w\"'-]+\s*\.\s*)*|[{,]\s*)"
    return re.compile(rf"{start}{name}\s*(?:=|:|\]|\.)")


def _find_key(lines: list[str], key: str, start: int) -> int | None:
    pattern = _key_pattern(key)
    for index in range(start, len(lines)):
        if pattern.search(lines[index]):
            return index
    return None


def _find_item(lines: list[str], key: str, item: int, start: int) -> int | None:
    """The line where element ``item`` of the list under ``key`` begins."""
    header = re.compile(rf"^\s*\[\[\s*(?:[\w\"'-]+\s*\.\s*)*{re.escape(key)}\s*\]\]")
    headers = [i for i, line in enumerate(lines) if header.search(line)]
    if headers:
        return headers[item] if item < len(headers) else None
    dashes = [i for i in range(start + 1, len(lines)) if re.match(r"^\s*-(\s|$)", lines[i])]
    if dashes:
        indent = len(lines[dashes[0]]) - len(lines[dashes[0]].lstrip())
        same = [i for i in dashes if len(lines[i]) - len(lines[i].lstrip()) == indent]
        return same[item] if item < len(same) else None
    if start < len(lines) and "]" in lines[start]:
        return start  # an inline array on one line: the key's line is the best guess
    braces = [i for i in range(start, len(lines)) if "{" in lines[i]]
    return braces[item] if item < len(braces) else None


def find_line(text: str, path: Sequence[PathPart]) -> int | None:
    """The 1-based line of the field ``path`` in a TOML/YAML/JSON text, or None.

    When the last part is not in the text (a missing key), the line of its parent.
    """
    lines = text.splitlines()
    found: int | None = None
    last_key = ""
    for part in path:
        start = found or 0
        if isinstance(part, int):
            index = _find_item(lines, last_key, part, start)
        else:
            index = _find_key(lines, part, start)
            last_key = part
        if index is None:
            break
        found = index
    return None if found is None else found + 1


def validation_error(error: pydantic.ValidationError, file: Path, text: str) -> ConfigError:
    """The first pydantic error as one :class:`ConfigError` with file, line and field."""
    first = error.errors()[0]
    loc = [part for part in first["loc"] if isinstance(part, str | int)]
    message = str(first["msg"])
    if first["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    return ConfigError(
        message.removeprefix("Value error, "),
        file=str(file),
        line=find_line(text, loc) if loc else None,
        field=field_path(loc) if loc else None,
    )


def with_line(error: ConfigError, file: Path, text: str) -> ConfigError:
    """``error`` with the line of its field filled in, when it is about ``file``."""
    if error.line is not None or error.field is None or error.file != str(file):
        return error
    line = find_line(text, split_field_path(error.field))
    return type(error)(error.message, file=error.file, line=line, field=error.field)


def parse_document(file: Path, text: str) -> object:
    """Parse TOML, YAML or JSON by suffix; syntax errors become a ConfigError with line."""
    import tomllib

    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
        if suffix == ".json":
            return json.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        line = int(match.group(1)) if match else None
        raise ConfigError(f"invalid TOML: {error}", file=str(file), line=line) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or "syntax error"
        raise ConfigError(f"invalid YAML: {problem}", file=str(file), line=line) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"invalid JSON: {error.msg}", file=str(file), line=error.lineno) from None
    raise ConfigError(
        f"unsupported file type {suffix!r} (use .toml, .yaml or .json)", file=str(file)
    )


ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def check_unicode(document: object, file: Path, text: str) -> None:
    """Reject a lone surrogate (``"\\ud800"``) at load, naming the file, line and field."""
    from autotune.bench._data import surrogate_field

    bad = surrogate_field(document)
    if bad is not None:
        message = "has a lone surrogate escape (like \\ud800): not valid Unicode text"
        raise with_line(ConfigError(message, file=str(file), field=bad), file, text)


def read_validated(file: Path, model: type[ModelT], kind: str) -> tuple[ModelT, str]:
    """Read a TOML/YAML/JSON ``kind`` file into ``model``; every error is one ConfigError.

    Returns:
        The validated model and the file's text (to locate later errors by line).
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{kind} file not found", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {kind} file: {error}", file=str(file)) from None
    document = parse_document(file, text)
    if not isinstance(document, dict):
        raise ConfigError(f"a {kind} file must hold a table of keys", file=str(file))
    check_unicode(document, file, text)
    try:
        return model.model_validate(document), text
    except pydantic.ValidationError as error:
        raise validation_error(error, file, text) from None
