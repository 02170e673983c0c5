"""An HTML report of a study, a comparison or one evaluation.

The page loads plotly.js from ``plotly.min.js`` beside it (copied there once and shared
by every report in the folder: a report is then tens of kB instead of 4.8 MB), never
from a CDN, so it opens offline; ``inline=True`` embeds the bundle for one
self-contained file (a CI artifact). It shows the score of each trial with the
best-so-far line, a heat map of trials (or variants) against cases, score against
cost, Optuna's parameter importances and parallel coordinates for studies, a table of
the trials with 95% intervals, and the diff from the seed prompt to the best one.
"""

from __future__ import annotations

import difflib
import html
import math
import shutil
from pathlib import Path
from typing import Any

from autotune.report._plots import cost_figure, heatmap_figure, score_figure
from autotune.report._report_data import ReportData, ReportRow
from autotune.report._report_sources import load_report_data

_PARAM_COLUMNS = (
    "model",
    "instruction",
    "n_demos",
    "demo_set",
    "position",
    "strategy",
    "temperature",
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.3rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #e6f4ea; font-weight: 600; }
table.diff { font-family: monospace; font-size: 12px; width: 100%; }
table.diff td { white-space: pre-wrap; word-break: break-word; }
.diff_add { background: #aaffaa; } .diff_chg { background: #ffff77; }
.diff_sub { background: #ffaaaa; }
.diff_next, .diff_header { background: #f0f0f0; color: #888; }
pre { background: #f7f7f7; padding: 0.8rem; white-space: pre-wrap; font-size: 12px; }
"""


PLOTLY_FILE = "plotly.min.js"


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def plotly_bundle() -> Path:
    """plotly.js as shipped inside the plotly package."""
    from importlib.resources import files

    return Path(str(files("plotly").joinpath("package_data", PLOTLY_FILE)))


def share_plotly(folder: Path) -> Path:
    """``folder/plotly.min.js``, copied from the plotly package unless already the same."""
    source, target = plotly_bundle(), folder / PLOTLY_FILE
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        shutil.copyfile(source, target)
    return target


def _figure_html(figure: Any, div_id: str) -> str:
    if figure is None:
        return ""
    body: str = figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)
    return f'<section class="plot">{body}</section>'


def _facts(data: ReportData) -> str:
    esc = html.escape
    cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in data.facts.items())
    return f'<table id="facts">{cells}</table>' if cells else ""


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def _row_cells(row: ReportRow, columns: list[str]) -> str:
    esc = html.escape
    ci = f"{row.ci[0]:.3f}-{row.ci[1]:.3f}" if row.ci else ""
    cells = [
        f"<td>{esc(row.label)}</td>",
        f"<td>{esc(row.state)}</td>",
        f'<td class="num">{_fmt(row.score)}</td>',
        f'<td class="num">{esc(ci)}</td>',
        f'<td class="num">{row.calls:.0f}</td>',
        f'<td class="num">{row.tokens:.0f}</td>',
        f'<td class="num">{_fmt(row.usd, 4)}</td>',
    ]
    cells += [f"<td>{esc(row.params.get(column, ''))}</td>" for column in columns]
    return "".join(cells)


def rows_table(data: ReportData) -> str:
    """The trials (or variants) as an HTML table; the best row is highlighted."""
    columns = [c for c in _PARAM_COLUMNS if any(c in row.params for row in data.rows)]
    heads = ["run", "state", "score", "95% CI", "calls", "tokens", "usd", *columns]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    best = data.best()
    body = "".join(
        f"<tr{' class=best' if row is best else ''}>{_row_cells(row, columns)}</tr>"
        for row in data.rows
    )
    return f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def prompt_diff(data: ReportData) -> str:
    """A side-by-side diff from ``before`` to ``after`` (or the one prompt there is)."""
    if data.after is None:
        return ""
    after_label, after = data.after
    if data.before is None:
        return f"<h3>{html.escape(after_label)}</h3><pre>{html.escape(after)}</pre>"
    before_label, before = data.before
    table = difflib.HtmlDiff(wrapcolumn=90).make_table(
        before.splitlines(), after.splitlines(), before_label, after_label
    )
    unified = "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), before_label, after_label, lineterm=""
        )
    )
    return (
        f'<div id="diff">{table}</div>'
        f"<details><summary>unified diff</summary><pre>{html.escape(unified)}</pre></details>"
    )


def render_report(data: ReportData, *, inline: bool = True) -> str:
    """The whole page as one HTML string; plotly.js inline, or from ``plotly.min.js``
    beside the page (``inline=False``)."""
    title = html.escape(data.title)
    plots = "".join(
        (
            _figure_html(score_figure(data), "plot-scores"),
            _figure_html(heatmap_figure(data), "plot-cases"),
            _figure_html(cost_figure(data), "plot-cost"),
            *(_figure_html(figure, div_id) for div_id, figure in data.figures.items()),
        )
    )
    script = f"<script>{_plotly_js()}</script>" if inline else f'<script src="{PLOTLY_FILE}">'
    if not inline:
        script += "</script>"
    diff = prompt_diff(data)
    heading = "Prompt"
    if data.before is not None and data.after is not None:
        heading = f"Prompt: {data.before[0]} → {data.after[0]}"
    diff_section = f"<h2>{html.escape(heading)}</h2>{diff}" if diff else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>autotune · {title}</title><style>{_STYLE}</style>"
        f"{script}</head><body>"
        f"<h1>{title}</h1>{_facts(data)}<h2>Scores</h2>{plots}"
        f"<h2>Runs</h2>{rows_table(data)}{diff_section}</body></html>\n"
    )


def write_report(
    target: str,
    out: str | Path = "report.html",
    *,
    tracking_uri: str | None = None,
    storage: str | None = None,
    inline: bool = False,
) -> Path:
    """Write the report of ``target`` (run id, comparison id or study name) to ``out``,
    with ``plotly.min.js`` beside it (or inside it, ``inline=True``).

    Raises:
        ConfigError: Nothing of that name in the MLflow store or the Optuna storage.
    """
    data = load_report_data(target, tracking_uri=tracking_uri, storage=storage)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not inline:
        share_plotly(path.parent)
    path.write_text(render_report(data, inline=inline), encoding="utf-8")
    return path
