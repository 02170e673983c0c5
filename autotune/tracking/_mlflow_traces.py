"""Write recorded calls as MLflow traces: one per case, a span per step and per call.

MLflow's trace exporter writes to the process-wide tracking URI, so it is pointed at
this tracker's store first (one lock; a process normally has one store). Traces are
written synchronously, each span its own store write: about 0.2 s for a direct answer
and 0.5 s for a Reflexion case (7 spans) on SQLite on the shared 2-core machine
(benchmarks/bench_tracing.py, results/tracing.json), which is why a run keeps a
bounded sample of them. Recording the calls costs about 4 us per case.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autotune.evaluate.results import CaseResult
from autotune.llm.scope import CallScope
from autotune.tracking.traces import CallGroup, CallRecord

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

_LOCK = threading.Lock()


def _point_tracing_at(tracking_uri: str) -> None:
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    if mlflow.get_tracking_uri() != tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)


def _chat_inputs(call: CallRecord) -> dict[str, Any]:
    return {
        "messages": [message.to_dict() for message in call.messages],
        "temperature": call.params.temperature,
        "max_tokens": call.params.max_tokens,
    }


def _chat_outputs(call: CallRecord) -> dict[str, Any] | None:
    done = call.completion
    if done is None:
        return None
    return {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": done.text},
                "finish_reason": done.finish_reason,
            }
        ],
        "model": done.model,
        "usage": {
            "prompt_tokens": done.prompt_tokens,
            "completion_tokens": done.completion_tokens,
            "total_tokens": done.total_tokens,
        },
    }


def _call_attributes(call: CallRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {"mlflow.llm.model": call.model, "autotune.role": call.role}
    done = call.completion
    if done is not None:
        attributes["mlflow.chat.tokenUsage"] = {
            "input_tokens": done.prompt_tokens,
            "output_tokens": done.completion_tokens,
            "total_tokens": done.total_tokens,
        }
        attributes["autotune.cached"] = done.cached
        attributes["autotune.latency_s"] = done.latency_s
    if call.error:
        attributes["autotune.error"] = call.error
    return attributes


def _root_io(group: CallGroup, row: CaseResult | None) -> tuple[Any, Any, dict[str, Any]]:
    """The trace's inputs, outputs and attributes: the case and its scored result."""
    if group.root is None:
        call = group.calls[0]
        return _chat_inputs(call), _chat_outputs(call), _call_attributes(call)
    inputs = group.root.inputs
    if row is None:
        last = group.calls[-1].completion
        return inputs, {"output": last.text if last else ""}, {}
    attributes = {
        "autotune.case": row.case_id,
        "autotune.score": row.score,
        "autotune.expected": row.expected if isinstance(row.expected, str) else str(row.expected),
        "autotune.reason": row.reason,
    }
    if row.error:
        attributes["autotune.error"] = row.error
    return inputs, {"output": row.output, "score": row.score}, attributes


def _root_name(group: CallGroup) -> str:
    if group.root is not None:
        return group.root.name
    return f"{group.calls[0].role} call"


def _write_group(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    group: CallGroup,
    row: CaseResult | None,
    tags: Mapping[str, str],
) -> None:
    inputs, outputs, attributes = _root_io(group, row)
    kind = "CHAT_MODEL" if group.root is None else "CHAIN"
    root = client.start_trace(
        _root_name(group),
        span_type=kind,
        inputs=inputs,
        attributes=attributes,
        tags=dict(tags),
        experiment_id=experiment_id,
        start_time_ns=group.start_ns,
        run_id=run_id or None,
    )
    trace_id = root.trace_id
    if group.root is not None:
        _write_children(client, trace_id, root.span_id, group)
    status = "ERROR" if (row is not None and row.error) or (row is None and group.failed) else "OK"
    client.end_trace(trace_id, outputs=outputs, status=status, end_time_ns=group.end_ns)


def _write_children(client: MlflowClient, trace_id: str, root_span: str, group: CallGroup) -> None:
    """A span per nested scope (a Reflexion step) and a chat span per call."""
    spans: dict[int, str] = {}
    for call in group.calls:
        parent = root_span
        for scope in call.scopes[1:]:
            parent = spans.get(scope.id) or _open_scope(client, trace_id, parent, scope, spans)
        span = client.start_span(
            f"chat {call.model}",
            trace_id=trace_id,
            parent_id=parent,
            span_type="CHAT_MODEL",
            inputs=_chat_inputs(call),
            attributes=_call_attributes(call),
            start_time_ns=call.start_ns,
        )
        client.end_span(
            trace_id,
            span.span_id,
            outputs=_chat_outputs(call),
            status="ERROR" if call.error else "OK",
            end_time_ns=call.end_ns,
        )
    # Step spans end with their last call.
    for scope_id, span_id in spans.items():
        ends = [c.end_ns for c in group.calls if any(s.id == scope_id for s in c.scopes)]
        client.end_span(trace_id, span_id, end_time_ns=max(ends))


def _open_scope(
    client: MlflowClient, trace_id: str, parent: str, scope: CallScope, spans: dict[int, str]
) -> str:
    span = client.start_span(
        scope.name,
        trace_id=trace_id,
        parent_id=parent,
        span_type="CHAIN",
        inputs=scope.inputs,
        start_time_ns=scope.start_ns,
    )
    spans[scope.id] = span.span_id
    return str(span.span_id)


def write_traces(
    client: MlflowClient,
    tracking_uri: str,
    experiment_id: str,
    run_id: str,
    groups: Sequence[CallGroup],
    rows: Mapping[str, CaseResult],
    tags: Mapping[str, str],
) -> int:
    """Write one trace per group, linked to ``run_id``; returns how many were written."""
    with _LOCK:
        _point_tracing_at(tracking_uri)
        for group in groups:
            _write_group(client, experiment_id, run_id, group, rows.get(group.key), tags)
    return len(groups)
