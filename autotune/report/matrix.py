"""A comparison as a case-by-variant matrix: CSV, Markdown or a standalone HTML table."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from autotune.errors import UserInputError
from autotune.report.compare import Comparison, VariantResult

MATRIX_SUFFIXES = (".html", ".csv", ".md")


def _one_line(text: str, width: int | None = None) -> str:
    flat = " ".join(text.split())
    if width is None or len(flat) <= width:
        return flat
    return flat[: width - 1] + "…"


def _output(variant: VariantResult, index: int) -> str:
    row = variant.result.rows[index]
    return f"[error] {row.error}" if row.error else row.output


def summary_line(variant: VariantResult, confidence: float) -> str:
    """``mean (95% CI low-high)`` and, for later variants, the paired difference."""
    r = variant.result
    text = f"{r.mean:.3f} ({round(confidence * 100)}% CI {r.ci_low:.3f}-{r.ci_high:.3f})"
    if variant.diff is not None:
        d = variant.diff
        text += f"; vs first {d.mean:+.3f} ({d.low:+.3f} to {d.high:+.3f})"
    errors = sum(run.errors for run in variant.repeated.runs)
    return text + f"; {errors} error(s), not scored" if errors else text


def to_csv(comparison: Comparison) -> str:
    """One row per case: case id, then each variant's output and score."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["case_id"]
    for variant in comparison.variants:
        header += [f"{variant.name} output", f"{variant.name} score"]
    writer.writerow(header)
    for index, case_id in enumerate(comparison.case_ids):
        line: list[str] = [case_id]
        for variant in comparison.variants:
            row = variant.result.rows[index]
            line += [_output(variant, index), f"{row.score:.4f}" if row.scored else "error"]
        writer.writerow(line)
    return buffer.getvalue()


def _md(text: str) -> str:
    return _one_line(text, 120).replace("|", "\\|")


def to_markdown(comparison: Comparison) -> str:
    """A Markdown summary of the variants, then the per-case matrix."""
    lines = ["| variant | model | mean |", "|---|---|---|"]
    for variant in comparison.variants:
        summary = summary_line(variant, comparison.confidence)
        lines.append(f"| {_md(variant.name)} | {_md(variant.model)} | {summary} |")
    header = "| case | " + " | ".join(_md(v.name) for v in comparison.variants) + " |"
    lines += ["", header, "|---" * (len(comparison.variants) + 1) + "|"]
    for index, case_id in enumerate(comparison.case_ids):
        cells = [
            f"{v.result.rows[index].score:.2f} · {_md(_output(v, index))}"
            for v in comparison.variants
        ]
        lines.append(f"| {_md(case_id)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
td.out { max-width: 28rem; white-space: pre-wrap; font-family: monospace; font-size: 12px; }
td.pass { background: #e6f4ea; } td.fail { background: #fce8e6; }
"""


def to_html(comparison: Comparison) -> str:
    """A standalone page: the variants' means, then the matrix with pass/fail colours."""
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
            kind = "pass" if row.score >= 0.999 else "fail"
            cells.append(
                f"<td class=out>{esc(_output(variant, index))}</td>"
                f"<td class={kind}>{row.score:.2f}</td>"
            )
        body.append(f"<tr><td>{esc(case_id)}</td>{''.join(cells)}</tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>autotune compare</title>"
        f"<style>{_STYLE}</style></head><body><h1>Comparison</h1>"
        f"<table id=variants><tr><th>variant</th><th>model</th><th>mean</th></tr>{head}</table>"
        f"<table id=matrix><tr><th>case</th>{names}</tr>{''.join(body)}</table>"
        "</body></html>\n"
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
