"""A comparison as a side-by-side table: CSV, Markdown or a standalone HTML page.

Each case shows its input and expected answer next to every variant's output and
score; label tasks add each variant's label distribution and confusion matrix.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from autotune.errors import UserInputError
from autotune.report.compare import Comparison, VariantResult
from autotune.report.labels import LabelStats, label_stats

MATRIX_SUFFIXES = (".html", ".csv", ".md")


def _one_line(text: str, width: int | None = None) -> str:
    flat = " ".join(text.split())
    if width is None or len(flat) <= width:
        return flat
    return flat[: width - 1] + "…"


def _output(variant: VariantResult, index: int) -> str:
    row = variant.result.rows[index]
    return f"[error] {row.error}" if row.error else row.output


def case_input(comparison: Comparison, index: int) -> str:
    """A case's inputs as text: the value alone for one field, ``field: value`` lines else."""
    inputs = comparison.variants[0].result.rows[index].inputs
    if len(inputs) == 1:
        return _text(next(iter(inputs.values())))
    return "\n".join(f"{key}: {_text(value)}" for key, value in inputs.items())


def case_expected(comparison: Comparison, index: int) -> str:
    return _text(comparison.variants[0].result.rows[index].expected)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def summary_line(variant: VariantResult, confidence: float) -> str:
    """``mean (95% CI low-high)`` and, for later variants, the paired difference."""
    r = variant.result
    text = f"{r.mean:.3f} ({round(confidence * 100)}% CI {r.ci_low:.3f}-{r.ci_high:.3f})"
    if variant.diff is not None:
        d = variant.diff
        text += f"; vs first {d.mean:+.3f} ({d.low:+.3f} to {d.high:+.3f})"
    errors = sum(run.errors for run in variant.repeated.runs)
    return text + f"; {errors} error(s), not scored" if errors else text


def variant_labels(comparison: Comparison, variant: VariantResult) -> LabelStats | None:
    """The variant's label statistics, for a comparison on a label task."""
    return label_stats(variant.result.rows, comparison.labels)


def to_csv(comparison: Comparison) -> str:
    """One row per case: id, input, expected, then each variant's output and score."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["case_id", "input", "expected"]
    for variant in comparison.variants:
        header += [f"{variant.name} output", f"{variant.name} score"]
    writer.writerow(header)
    for index, case_id in enumerate(comparison.case_ids):
        line = [case_id, case_input(comparison, index), case_expected(comparison, index)]
        for variant in comparison.variants:
            row = variant.result.rows[index]
            line += [_output(variant, index), f"{row.score:.4f}" if row.scored else "error"]
        writer.writerow(line)
    return buffer.getvalue()


def _md(text: str, width: int = 120) -> str:
    return _one_line(text, width).replace("|", "\\|")


def _md_labels(name: str, stats: LabelStats) -> list[str]:
    shares = ", ".join(f"{c} {stats.share(c):.0%}" for c in stats.columns)
    lines = ["", f"**{_md(name)}** answered: {shares}", ""]
    lines.append("| expected ↓ / answered → | " + " | ".join(stats.columns) + " |")
    lines.append("|---" * (len(stats.columns) + 1) + "|")
    for label, counts in zip(stats.labels, stats.matrix, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(count) for count in counts) + " |")
    return lines


def to_markdown(comparison: Comparison) -> str:
    """The variants' means, the label tables (label tasks), then the per-case matrix."""
    lines = ["| variant | model | mean |", "|---|---|---|"]
    for variant in comparison.variants:
        summary = summary_line(variant, comparison.confidence)
        lines.append(f"| {_md(variant.name)} | {_md(variant.model)} | {summary} |")
    for variant in comparison.variants:
        stats = variant_labels(comparison, variant)
        if stats is not None:
            lines += _md_labels(variant.name, stats)
    names = " | ".join(_md(v.name) for v in comparison.variants)
    lines += ["", f"| case | input | expected | {names} |"]
    lines.append("|---" * (len(comparison.variants) + 3) + "|")
    for index, case_id in enumerate(comparison.case_ids):
        cells = [
            f"{v.result.rows[index].score:.2f} · {_md(_output(v, index), 80)}"
            for v in comparison.variants
        ]
        given = _md(case_input(comparison, index), 80)
        expected = _md(case_expected(comparison, index), 40)
        lines.append(f"| {_md(case_id)} | {given} | {expected} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
td.out, td.in { max-width: 24rem; font-family: monospace; font-size: 12px; }
div.clip { max-height: 7.5em; overflow: auto; white-space: pre-wrap; }
td.pass { background: #e6f4ea; } td.fail { background: #fce8e6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.hit { background: #e6f4ea; } td.miss { background: #fce8e6; }
.labels { display: flex; gap: 2rem; flex-wrap: wrap; }
"""


def _html_labels(name: str, stats: LabelStats) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in stats.columns)
    shares = "".join(f'<td class="num">{stats.share(c):.0%}</td>' for c in stats.columns)
    rows = []
    for label, counts in zip(stats.labels, stats.matrix, strict=True):
        cells = "".join(
            f'<td class="num {"hit" if column == label else "miss" if count else ""}">{count}</td>'
            for column, count in zip(stats.columns, counts, strict=True)
        )
        rows.append(f"<tr><th>{esc(label)}</th>{cells}</tr>")
    return (
        f'<div><h3>{esc(name)}</h3><table class="confusion">'
        f"<tr><th>expected ↓ / answered →</th>{head}</tr>{''.join(rows)}"
        f"<tr><th>share of answers</th>{shares}</tr></table></div>"
    )


def labels_html(comparison: Comparison) -> str:
    """Each variant's confusion matrix with its label shares ("" for other tasks)."""
    blocks = [
        _html_labels(v.name, stats)
        for v in comparison.variants
        if (stats := variant_labels(comparison, v)) is not None
    ]
    if not blocks:
        return ""
    return f'<h2>Labels</h2><div class="labels" id="labels">{"".join(blocks)}</div>'


def to_html(comparison: Comparison) -> str:
    """A standalone page: the variants' means, label tables, then the case matrix."""
    esc = html.escape
    head = "".join(
        f"<tr><td>{esc(v.name)}</td><td>{esc(v.model)}</td>"
        f"<td>{esc(summary_line(v, comparison.confidence))}</td></tr>"
        for v in comparison.variants
    )
    names = "".join(f"<th colspan=2>{esc(v.name)}</th>" for v in comparison.variants)
    body = []
    for index, case_id in enumerate(comparison.case_ids):
        cells = []
        for variant in comparison.variants:
            row = variant.result.rows[index]
            kind = "pass" if row.passed else "fail"
            cells.append(
                f"<td class=out><div class=clip>{esc(_output(variant, index))}</div></td>"
                f"<td class={kind}>{row.score:.2f}</td>"
            )
        given = f"<div class=clip>{esc(case_input(comparison, index))}</div>"
        expected = f"<div class=clip>{esc(case_expected(comparison, index))}</div>"
        body.append(
            f"<tr><td>{esc(case_id)}</td><td class=in>{given}</td><td class=in>{expected}</td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>autotune compare</title>"
        f"<style>{_STYLE}</style></head><body><h1>Comparison</h1>"
        f"<table id=variants><tr><th>variant</th><th>model</th><th>mean</th></tr>{head}</table>"
        f"{labels_html(comparison)}<h2>Cases</h2>"
        f"<table id=matrix><tr><th>case</th><th>input</th><th>expected</th>{names}</tr>"
        f"{''.join(body)}</table></body></html>\n"
    )


def write_matrix(comparison: Comparison, path: str | Path) -> Path:
    """Write the matrix in the format the suffix names (.html, .csv or .md).

    Raises:
        UserInputError: Another suffix.
    """
    path = Path(path)
    writers = {".html": to_html, ".csv": to_csv, ".md": to_markdown}
    writer = writers.get(path.suffix.lower())
    if writer is None:
        raise UserInputError(
            f"unsupported matrix file type {path.suffix!r} (use .html, .csv or .md)",
            file=str(path),
            field="--out",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(writer(comparison), encoding="utf-8")
    return path
