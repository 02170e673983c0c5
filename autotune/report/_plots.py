"""The report's plotly figures: scores over trials, the case heat map, score against cost.

These are drawn from the MLflow runs, so a report works from the tracking store alone.
The score chart is kept by hand rather than optuna's ``plot_optimization_history``:
that needs the Optuna storage and shows completed trials only, while this one also
marks pruned and failed trials (about 30 lines). Where the study's storage is at hand,
optuna.visualization adds parameter importances and parallel coordinates
(:func:`autotune.report._study_read.study_figures`).
"""

from __future__ import annotations

import math
from typing import Any

from autotune.report._report_data import ReportData, ReportRow

_STATE_COLOURS = {
    "accepted": "#1f77b4",
    "rejected": "#ff7f0e",
    "pruned": "#ff7f0e",
    "failed": "#d62728",
}


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _layout(fig: Any, title: str, x: str, y: str, height: int = 380) -> Any:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        template="plotly_white",
    )
    if y == "score":
        fig.update_yaxes(range=[-0.05, 1.12])
    return fig


def best_so_far(rows: list[ReportRow]) -> tuple[list[int], list[float]]:
    """Trial numbers and the running best score of completed trials."""
    xs: list[int] = []
    ys: list[float] = []
    best = -math.inf
    for row in sorted(rows, key=lambda r: r.number or 0):
        if row.score is None or row.state not in ("accepted", "FINISHED"):
            continue
        best = max(best, row.score)
        xs.append(row.number or 0)
        ys.append(best)
    return xs, ys


def score_figure(data: ReportData) -> Any:
    """Each trial's score and the best-so-far line; bars with CIs for variants."""
    go = _go()
    fig = go.Figure()
    if data.kind != "study":
        rows = [row for row in data.rows if row.score is not None]
        error = {
            "type": "data",
            "symmetric": False,
            "array": [(row.ci[1] - (row.score or 0)) if row.ci else 0 for row in rows],
            "arrayminus": [((row.score or 0) - row.ci[0]) if row.ci else 0 for row in rows],
        }
        fig.add_bar(x=[r.label for r in rows], y=[r.score for r in rows], error_y=error)
        return _layout(fig, "Mean score (95% CI)", "variant", "score")
    for state in sorted({row.state for row in data.rows}):
        rows = [row for row in data.rows if row.state == state and row.score is not None]
        fig.add_scatter(
            x=[r.number for r in rows],
            y=[r.score for r in rows],
            mode="markers",
            name=state.lower(),
            marker={"size": 9, "color": _STATE_COLOURS.get(state, "#7f7f7f")},
            text=[r.label for r in rows],
        )
    xs, ys = best_so_far(data.rows)
    fig.add_scatter(x=xs, y=ys, mode="lines", name="best so far", line={"shape": "hv"})
    numbers = [row.number or 0 for row in data.rows]
    # Candidates are whole numbers: ticks at integers only, never 0.5.
    fig.update_xaxes(tickformat="d", dtick=max(1, math.ceil((max(numbers, default=0) + 1) / 15)))
    return _layout(fig, "Search score of each candidate", "candidate", "score")


def heatmap_figure(data: ReportData) -> Any | None:
    """Rows (trials or variants) against cases, coloured by score; None without cases."""
    cases: dict[str, None] = {}
    for row in data.rows:
        cases.update(dict.fromkeys(row.case_scores))
    rows = [row for row in data.rows if row.case_scores]
    if not cases or not rows:
        return None
    z = [[row.case_scores.get(case) for case in cases] for row in rows]
    go = _go()
    heat = go.Heatmap(
        z=z,
        x=list(cases),
        y=[row.label for row in rows],
        zmin=0,
        zmax=1,
        colorscale="RdYlGn",
        hoverongaps=False,
        colorbar={"title": "score"},
    )
    fig = go.Figure(heat)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    height = min(1200, 160 + 22 * len(rows))
    return _layout(fig, "Score per case", "case", "", height=height)


def cost_axis(rows: list[ReportRow]) -> str | None:
    """The cost measure the rows have: usd, else tokens, else calls; None if none."""
    for name in ("usd", "tokens", "calls"):
        if any(getattr(row, name) > 0 for row in rows):
            return name
    return None


def cost_figure(data: ReportData) -> Any | None:
    """Score against cost (dollars, tokens or calls); None when no cost was logged."""
    rows = [row for row in data.rows if row.score is not None]
    axis = cost_axis(rows)
    if axis is None:
        return None
    go = _go()
    fig = go.Figure()
    fig.add_scatter(
        x=[getattr(row, axis) for row in rows],
        y=[row.score for row in rows],
        mode="markers+text",
        text=[row.label for row in rows],
        textposition="top center",
        marker={"size": 10, "color": [_STATE_COLOURS.get(r.state, "#1f77b4") for r in rows]},
    )
    return _layout(fig, f"Score against cost ({axis})", axis, "score")
