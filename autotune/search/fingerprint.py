"""A study is its configuration: fingerprint it, and stop when a resumed study changed.

Pure functions, no storage: the search driver stores :meth:`StudyFingerprint.to_dict`
with a new study (e.g. as an Optuna study user attribute under :data:`FINGERPRINT_ATTR`)
and, when it resumes one, calls :func:`check_fingerprint` with what it stored. A change
stops the run with one line naming what changed and offering ``--new-study`` (a fresh
study) or, where resuming cannot corrupt the study, ``--force``.

Parts and what a change means:

* ``benchmark``, ``splits``: other cases or splits; old scores are not comparable
  (never resumable).
* ``search.<key>``: a search-space setting; Optuna cannot resume a study whose value
  space changed (never resumable), unless the caller lists the key as safe.
* ``seed_prompt``, ``task_model``, ``meta_model``: resumable with ``--force``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autotune.bench.benchmark import SPLITS, Benchmark
from autotune.bench.case import Case
from autotune.errors import AutotuneError
from autotune.llm.urls import redact_urls
from autotune.prompt import Prompt

FINGERPRINT_ATTR = "autotune.fingerprint"
"""Suggested Optuna study user-attribute key for :meth:`StudyFingerprint.to_dict`."""

RESUMABLE_PARTS = frozenset({"seed_prompt", "task_model", "meta_model"})
"""Parts whose change ``--force`` may override."""

IGNORED_SETTINGS = frozenset({"n_trials", "concurrency"})
"""Settings that never make a study another one (more trials extend it)."""


class StudyMismatch(AutotuneError):
    """A resumed study was made with another configuration.

    Attributes:
        study: The study name.
        changed: The parts that changed (``benchmark``, ``search.pool_size``, ...).
        resumable: Whether ``--force`` may resume it anyway.
    """

    def __init__(self, study: str, changed: Sequence[str], resumable: bool) -> None:
        self.study = study
        self.changed = list(changed)
        self.resumable = resumable
        what = ", ".join(self.changed)
        offer = "--new-study to start a fresh one"
        if resumable:
            offer += ", or --force to resume it anyway"
        super().__init__(
            f"study {study!r} was made with another setup (changed: {what}); use {offer}"
        )


@dataclass(frozen=True)
class StudyFingerprint:
    """Digests of everything that makes a study this study."""

    benchmark: str
    splits: str
    seed_prompt: str
    task_model: str
    meta_model: str
    search: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form to store with the study (no secrets: URLs are redacted)."""
        return {
            "benchmark": self.benchmark,
            "splits": self.splits,
            "seed_prompt": self.seed_prompt,
            "task_model": self.task_model,
            "meta_model": self.meta_model,
            "search": dict(self.search),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyFingerprint:
        """Read back :meth:`to_dict`; missing parts become ``""`` (count as changed)."""
        search = data.get("search") or {}
        return cls(
            benchmark=str(data.get("benchmark", "")),
            splits=str(data.get("splits", "")),
            seed_prompt=str(data.get("seed_prompt", "")),
            task_model=str(data.get("task_model", "")),
            meta_model=str(data.get("meta_model", "")),
            search={str(k): str(v) for k, v in dict(search).items()},
        )


def digest(value: Any) -> str:
    """A short stable digest of JSON-able ``value`` (keys sorted)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _case_content(case: Case) -> dict[str, Any]:
    return {"id": case.id, "inputs": dict(case.inputs), "expected": case.expected}


def benchmark_digests(benchmark: Benchmark) -> tuple[str, str]:
    """``(cases, splits)`` digests by content: file paths and order of keys do not matter."""
    cases = digest(
        {
            "cases": [_case_content(case) for case in benchmark.cases],
            "template": benchmark.user_template,
            "metrics": list(benchmark.metrics.names),
        }
    )
    splits = digest({name: [case.id for case in benchmark.split(name)] for name in SPLITS})
    return cases, splits


def study_fingerprint(
    benchmark: Benchmark,
    seed_prompt: Prompt,
    task_model: str,
    meta_model: str,
    settings: Mapping[str, Any],
    *,
    ignored: Iterable[str] = IGNORED_SETTINGS,
) -> StudyFingerprint:
    """The fingerprint of a study about to run.

    Args:
        benchmark: The loaded benchmark (cases and splits are digested by content).
        seed_prompt: The seed prompt (its full content, not its file).
        task_model: The task model string (credentials in URLs are removed).
        meta_model: The Meta-LLM model string.
        settings: The search settings, e.g. ``SearchSettings.model_dump()``.
        ignored: Settings left out (by default ``n_trials`` and ``concurrency``).
    """
    cases, splits = benchmark_digests(benchmark)
    skip = set(ignored)
    return StudyFingerprint(
        benchmark=cases,
        splits=splits,
        seed_prompt=digest(seed_prompt.to_dict()),
        task_model=redact_urls(task_model),
        meta_model=redact_urls(meta_model),
        search={key: digest(value) for key, value in settings.items() if key not in skip},
    )


def diff_fingerprints(stored: StudyFingerprint, current: StudyFingerprint) -> list[str]:
    """The parts that differ, in a fixed order (``search.<key>`` per setting)."""
    changed = [
        name
        for name in ("benchmark", "splits", "seed_prompt", "task_model", "meta_model")
        if getattr(stored, name) != getattr(current, name)
    ]
    keys = sorted(set(stored.search) | set(current.search))
    changed += [f"search.{k}" for k in keys if stored.search.get(k) != current.search.get(k)]
    return changed


def check_fingerprint(
    stored: Mapping[str, Any] | StudyFingerprint | None,
    current: StudyFingerprint,
    *,
    study: str,
    force: bool = False,
    safe_settings: Iterable[str] = (),
) -> list[str]:
    """Decide whether a study may be resumed with ``current``.

    Args:
        stored: What was stored with the study (None: a study from before
            fingerprints, accepted as is).
        current: The fingerprint of this run.
        study: The study name, for the message.
        force: ``--force`` was given.
        safe_settings: Search settings whose change Optuna can resume (besides
            :data:`RESUMABLE_PARTS`).

    Returns:
        The changed parts (empty when nothing changed; non-empty only with ``force``
        and resumable changes, so the caller can say what it resumed despite).

    Raises:
        StudyMismatch: Something changed and ``force`` is off, or a change is not
            resumable.
    """
    if stored is None:
        return []
    before = stored if isinstance(stored, StudyFingerprint) else StudyFingerprint.from_dict(stored)
    changed = diff_fingerprints(before, current)
    if not changed:
        return []
    safe = RESUMABLE_PARTS | {f"search.{key}" for key in safe_settings}
    resumable = all(part in safe for part in changed)
    if force and resumable:
        return changed
    raise StudyMismatch(study, changed, resumable)
