"""How a comparison looks on a terminal and in ``--json``: inputs, expected answers,
every variant's output, label shares and confusion matrices, means and differences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autotune.cli.cmd_eval import result_summary
from autotune.report.matrix import case_expected, case_input, summary_line, variant_labels

if TYPE_CHECKING:
    from rich.console import Console

    from autotune.report import Comparison
    from autotune.report.labels import LabelStats

INPUT_WIDTH = 36
OUTPUT_WIDTH = 30


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def print_comparison(console: Console, comparison: Comparison) -> None:
    """The case matrix, each variant's labels (label tasks), then means and differences."""
    from rich.table import Table

    matrix = Table(title="cases", show_lines=False)
    matrix.add_column("case", overflow="fold")
    matrix.add_column("input", max_width=INPUT_WIDTH)
    matrix.add_column("expected", max_width=16, style="bold")
    for variant in comparison.variants:
        matrix.add_column(variant.name, overflow="fold", max_width=OUTPUT_WIDTH)
        matrix.add_column("score", justify="right")
    for index, case_id in enumerate(comparison.case_ids):
        cells = [
            case_id,
            _short(case_input(comparison, index), INPUT_WIDTH),
            _short(case_expected(comparison, index), 16),
        ]
        for variant in comparison.variants:
            row = variant.result.rows[index]
            style = "green" if row.passed else "red"
            text = f"[error] {row.error}" if row.error else row.output
            score = f"[{style}]{row.score:.2f}[/]" if row.scored else "[red]error[/]"
            cells += [_short(text, OUTPUT_WIDTH), score]
        matrix.add_row(*cells)
    console.print(matrix)
    for variant in comparison.variants:
        stats = variant_labels(comparison, variant)
        if stats is not None:
            console.print(_labels_table(variant.name, stats))
    summary = Table(title=f"variants ({comparison.repeats} repeat(s) per case)")
    for column in ("variant", "model", "mean (95% CI); paired difference vs first"):
        summary.add_column(column, overflow="fold")
    for variant in comparison.variants:
        summary.add_row(variant.name, variant.model, summary_line(variant, comparison.confidence))
    console.print(summary)


def _labels_table(name: str, stats: LabelStats) -> Any:
    from rich.table import Table

    table = Table(title=f"{name}: expected ↓ answered →")
    table.add_column("")
    for column in stats.columns:
        table.add_column(column, justify="right")
    for label, counts in zip(stats.labels, stats.matrix, strict=True):
        cells = [
            f"[green]{count}[/]" if column == label else (f"[red]{count}[/]" if count else "0")
            for column, count in zip(stats.columns, counts, strict=True)
        ]
        table.add_row(label, *cells)
    table.add_row("[bold]share[/]", *(f"{stats.share(c):.0%}" for c in stats.columns))
    return table


def _labels_document(stats: LabelStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "answered": dict(stats.predicted),
        "columns": list(stats.columns),
        "confusion": {
            label: list(counts) for label, counts in zip(stats.labels, stats.matrix, strict=True)
        },
    }


def compare_document(comparison: Comparison, experiment: str | None) -> dict[str, Any]:
    """The ``--json`` output of ``compare`` (schema: ``autotune/cli/schemas/compare.json``)."""
    variants = []
    for variant in comparison.variants:
        diff = variant.diff
        gap = None if diff is None else {"mean": diff.mean, "low": diff.low, "high": diff.high}
        variants.append(
            {
                "name": variant.name,
                "model": variant.model,
                "prompt": variant.prompt.name or variant.prompt.fingerprint(),
                "summary": result_summary(variant.result),
                "diff_vs_first": gap,
                "labels": _labels_document(variant_labels(comparison, variant)),
                "run_id": variant.run_id or None,
            }
        )
    cases = [
        {
            "case_id": case_id,
            "input": case_input(comparison, index),
            "expected": case_expected(comparison, index),
            "outputs": {
                v.name: {
                    "output": v.result.rows[index].output,
                    "score": v.result.rows[index].score,
                    "error": v.result.rows[index].error,
                }
                for v in comparison.variants
            },
        }
        for index, case_id in enumerate(comparison.case_ids)
    ]
    return {
        "command": "compare",
        **comparison.details,
        "group_id": comparison.group_id,
        "repeats": comparison.repeats,
        "confidence": comparison.confidence,
        "variants": variants,
        "cases": cases,
        "mlflow": {"experiment": experiment} if experiment else None,
    }
