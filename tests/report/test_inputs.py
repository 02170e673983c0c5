"""Prompt arguments: files with the suite's template, registry URIs, early checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_doubles import make_cases

from autotune.bench.benchmark import Benchmark
from autotune.errors import ConfigError
from autotune.metrics.base import MetricSet
from autotune.prompt import Prompt
from autotune.report import check_prompt, is_registry_uri, resolve_prompt
from autotune.tracking.registry import register_prompt


@pytest.fixture
def bench(metrics: MetricSet) -> Benchmark:
    return Benchmark("toy", tuple(make_cases(4)), metrics, user_template="Text: {text}")


def test_a_text_file_gets_the_suites_user_template(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("Label it.\n")
    resolved = resolve_prompt(str(path), "Text: {text}")
    assert resolved.prompt == Prompt(system="Label it.", user_template="Text: {text}")
    assert (resolved.label, resolved.from_registry, resolved.version) == ("short", False, None)


def test_registry_uris_resolve_by_alias_and_by_version(tmp_path: Path) -> None:
    uri = "sqlite:///" + (tmp_path / "db" / "mlflow.db").as_posix()
    (tmp_path / "db").mkdir()
    first = Prompt(system="Label it.", user_template="{text}")
    second = Prompt(
        system="Label it carefully.", user_template="{text}", answer_strategy="step_by_step"
    )
    register_prompt(first, "sentiment", alias="production", tracking_uri=uri)
    register_prompt(second, "sentiment", tracking_uri=uri)

    by_alias = resolve_prompt("prompts:/sentiment@production", "ignored {text}", tracking_uri=uri)
    assert by_alias.prompt.system == "Label it." and by_alias.version == 1
    assert by_alias.registry_name == "sentiment" and by_alias.prompt.name == "sentiment"
    assert by_alias.label == "sentiment@production (v1)"
    by_version = resolve_prompt("prompts:/sentiment/2", "ignored {text}", tracking_uri=uri)
    assert by_version.prompt.answer_strategy == "step_by_step" and by_version.version == 2
    assert by_version.label == "sentiment/2"
    with pytest.raises(ConfigError, match="not in the prompt registry"):
        resolve_prompt("prompts:/sentiment@staging", "{text}", tracking_uri=uri)


def test_registry_uris_are_told_apart_from_paths() -> None:
    assert is_registry_uri("prompts:/x@production")
    assert not is_registry_uri("prompts/x.txt")
    with pytest.raises(ConfigError, match=r"expected prompts:/NAME@ALIAS"):
        resolve_prompt("prompts:/", "{text}")


def test_check_prompt_names_the_file_for_a_bad_strategy_or_placeholder(
    tmp_path: Path, bench: Benchmark
) -> None:
    strategy = tmp_path / "odd.json"
    strategy.write_text(json.dumps({"system": "x", "strategy": "telepathy"}))
    with pytest.raises(ConfigError) as caught:
        check_prompt(resolve_prompt(str(strategy), bench.user_template), bench)
    assert str(caught.value).startswith(f"{strategy}: field 'strategy': unknown strategy")

    placeholder = tmp_path / "title.toml"
    placeholder.write_text('system = "x"\nuser_template = "{title}"\n')
    with pytest.raises(ConfigError, match=r"field 'user_template': needs \{title\}"):
        check_prompt(resolve_prompt(str(placeholder), bench.user_template), bench)
