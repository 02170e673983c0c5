"""Read benchmark data files (JSONL, CSV, TSV) into rows that remember their line."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotune.errors import DataError

JSONL_SUFFIXES = (".jsonl", ".ndjson")
DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


@dataclass(frozen=True)
class Row:
    """One record of a data file and the 1-based line it starts on."""

    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """The records of one data file.

    Attributes:
        path: The data file.
        rows: The records, in file order.
        header: The column names of a CSV/TSV file (its line 1); None for JSONL.
    """

    path: Path
    rows: tuple[Row, ...]
    header: tuple[str, ...] | None = None

    def columns(self) -> set[str]:
        """Every field name that occurs in some row (or the header)."""
        if self.header is not None:
            return set(self.header)
        return {name for row in self.rows for name in row.values}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("data file not found", file=str(path)) from None
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text ({error.reason})", file=str(path)) from None
    except OSError as error:
        raise DataError(f"cannot read data file: {error.strerror}", file=str(path)) from None


def surrogate_field(value: Any, where: str = "") -> str | None:
    """The field (``a.b[2]``) of the first string holding a lone UTF-16 surrogate.

    JSON's ``"\\ud800"`` escape decodes to one; such a string cannot be encoded as
    UTF-8, so every store (MLflow, SQLite, files) fails on it later, far from the cause.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "(value)"
        return None
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [
            (f"{where}.{key}" if where else str(key), item) for key, item in value.items()
        ]
        items += [(f"{where}.(key)" if where else "(key)", key) for key in value]
    elif isinstance(value, list):
        items = [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    else:
        return None
    for name, item in items:
        found = surrogate_field(item, name)
        if found is not None:
            return found
    return None


def _read_jsonl(path: Path, text: str) -> Table:
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            message = f"not valid JSON ({error.msg} at column {error.colno})"
            raise DataError(message, file=str(path), line=number) from None
        if not isinstance(value, dict):
            kind = type(value).__name__
            raise DataError(
                f"each line must be a JSON object, not {kind}", file=str(path), line=number
            )
        bad = surrogate_field(value)
        if bad is not None:
            message = "has a lone surrogate escape (like \\ud800): not valid Unicode text"
            raise DataError(message, file=str(path), line=number, field=bad)
        rows.append(Row(number, value))
    return Table(path, tuple(rows))


def _read_delimited(path: Path, text: str, delimiter: str) -> Table:
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("empty file: no header line", file=str(path), line=1) from None
    except csv.Error as error:
        raise DataError(f"malformed header: {error}", file=str(path), line=1) from None
    names = [name.strip() for name in header]
    if "" in names or len(set(names)) != len(names):
        message = "the header needs unique, non-empty column names"
        raise DataError(message, file=str(path), line=1, field=",".join(names))
    rows: list[Row] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            if record and any(cell.strip() for cell in record):
                if len(record) != len(names):
                    message = f"has {len(record)} values but the header has {len(names)} columns"
                    raise DataError(message, file=str(path), line=start)
                rows.append(Row(start, dict(zip(names, record, strict=True))))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataError(f"malformed CSV: {error}", file=str(path), line=start) from None
    return Table(path, tuple(rows), tuple(names))


def read_table(path: str | Path) -> Table:
    """Read a JSONL, CSV or TSV data file.

    Raises:
        DataError: Missing or unreadable file, a malformed line, an empty data set; the
            error names the file and the line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in JSONL_SUFFIXES and suffix not in DELIMITERS:
        message = f"unsupported data format {suffix or '(no suffix)'!r}: use .jsonl, .csv or .tsv"
        raise DataError(message, file=str(path))
    text = _read_text(path)
    if suffix in JSONL_SUFFIXES:
        table = _read_jsonl(path, text)
    else:
        table = _read_delimited(path, text, DELIMITERS[suffix])
    if not table.rows:
        raise DataError("no cases: the data set is empty", file=str(path))
    return table
