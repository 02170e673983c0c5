"""The gate's verdict as JUnit XML (for CI test tabs) and as a Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from autotune.report.regress import CaseFlip, GateResult, MetricGate

FLIPS_SHOWN = 20


def _describe(gate: MetricGate, result: GateResult) -> str:
    d = gate.diff
    level = round(result.confidence * 100)
    return (
        f"{gate.name}: baseline {gate.baseline_mean:.3f}, candidate {gate.candidate_mean:.3f}, "
        f"difference {d.mean:+.3f} ({level}% CI {d.low:+.3f} to {d.high:+.3f}), "
        f"tolerance {result.tolerance:g}"
    )


def _short(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _flip_lines(title: str, flips: list[CaseFlip]) -> list[str]:
    lines = [f"{title}: {len(flips)}"]
    for flip in flips[:FLIPS_SHOWN]:
        lines.append(
            f"  {flip.case_id}: {flip.baseline_score:.2f} -> {flip.candidate_score:.2f}  "
            f"now: {_short(flip.candidate_output, 80)!r}"
        )
    if len(flips) > FLIPS_SHOWN:
        lines.append(f"  ... and {len(flips) - FLIPS_SHOWN} more")
    return lines


def flips_text(result: GateResult) -> str:
    """Broken and fixed cases as plain text lines."""
    lines = _flip_lines("broken (passed before, fails now)", result.broken)
    lines += _flip_lines("fixed (failed before, passes now)", result.fixed)
    return "\n".join(lines)


def junit_xml(result: GateResult, suite: str = "autotune.regress") -> str:
    """One test case per metric plus one for the overall score; regressions fail."""
    gates = [result.overall, *result.metrics]
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(gates)),
        failures=str(len(result.regressions)),
        errors="0",
        skipped="0",
    )
    properties = ET.SubElement(node, "properties")
    facts = {
        "candidate": result.candidate,
        "baseline": result.baseline,
        "cases": str(result.cases),
        "repeats": str(result.repeats),
        "tolerance": f"{result.tolerance:g}",
        "baseline_errors": str(result.baseline_errors),
        "candidate_errors": str(result.candidate_errors),
        **result.details,
    }
    for key, value in facts.items():
        ET.SubElement(properties, "property", name=key, value=value)
    flips = flips_text(result)
    for gate in gates:
        name = gate.name if gate is result.overall else f"metric:{gate.name}"
        case = ET.SubElement(node, "testcase", classname=suite, name=name)
        if gate.regressed:
            failure = ET.SubElement(
                case, "failure", type="regression", message=_describe(gate, result)
            )
            failure.text = _describe(gate, result)
        out = ET.SubElement(case, "system-out")
        out.text = _describe(gate, result) + "\n" + flips
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str) -> str:
    return _short(text, 80).replace("|", "\\|").replace("`", "'")


def markdown_summary(result: GateResult) -> str:
    """A Markdown report: verdict, a table of scores, and the flipped cases."""
    verdict = "✅ no regression" if result.passed else "❌ regression"
    level = round(result.confidence * 100)
    lines = [
        f"## Regression gate: {verdict}",
        "",
        f"Candidate `{_cell(result.candidate)}` vs baseline `{_cell(result.baseline)}` on "
        f"{result.cases} cases x {result.repeats} repeats, tolerance {result.tolerance:g}; "
        f"errors (not scored): baseline {result.baseline_errors}, "
        f"candidate {result.candidate_errors}.",
        "",
        f"| score | baseline | candidate | difference | {level}% CI | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for gate in (result.overall, *result.metrics):
        d = gate.diff
        mark = "❌ regressed" if gate.regressed else "✅ ok"
        lines.append(
            f"| {_cell(gate.name)} | {gate.baseline_mean:.3f} | {gate.candidate_mean:.3f} | "
            f"{d.mean:+.3f} | {d.low:+.3f} to {d.high:+.3f} | {mark} |"
        )
    for title, flips in (("Broken cases", result.broken), ("Fixed cases", result.fixed)):
        lines += ["", f"### {title} ({len(flips)})"]
        if flips:
            lines += [
                "",
                "| case | baseline | candidate | candidate output |",
                "|---|---:|---:|---|",
            ]
        for flip in flips[:FLIPS_SHOWN]:
            lines.append(
                f"| {_cell(flip.case_id)} | {flip.baseline_score:.2f} | "
                f"{flip.candidate_score:.2f} | {_cell(flip.candidate_output)} |"
            )
        if len(flips) > FLIPS_SHOWN:
            lines.append(f"\n… and {len(flips) - FLIPS_SHOWN} more")
    return "\n".join(lines) + "\n"
