"""Tests for prompt files: load/save round trips and errors naming file, line, field."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotune.bench import Benchmark, Case, load_prompt, save_prompt, validate_prompt_fields
from autotune.bench.prompt_file import toml_text
from autotune.errors import ConfigError
from autotune.metrics import build_metric_set
from autotune.prompt import Demo, Prompt

FULL = Prompt(
    system='Classify the review.\nAnswer with one word: "positive" or "negative".\\n',
    user_template="Review: {text}",
    demos=(Demo.of({"text": "Loved it"}, "positive"), Demo.of({"text": "Meh"}, "negative")),
    answer_strategy="step_by_step",
    instruction_position="user",
    name="seed",
)


@pytest.mark.parametrize("suffix", [".toml", ".json", ".yaml"])
def test_structured_prompt_round_trip(tmp_path: Path, suffix: str) -> None:
    path = save_prompt(FULL, tmp_path / "sub" / f"seed{suffix}")
    loaded = load_prompt(path)
    assert loaded == FULL and loaded.name == "seed"
    assert not list(path.parent.glob("*.tmp"))


def test_text_prompt_uses_the_suite_template(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    path.write_text("\nClassify the sentiment of the text.\n\n")
    prompt = load_prompt(path, "Text: {text}")
    assert prompt == Prompt("Classify the sentiment of the text.", "Text: {text}")
    assert prompt.name == "seed"
    save_prompt(prompt, tmp_path / "copy.md")
    assert load_prompt(tmp_path / "copy.md", "Text: {text}") == prompt
    with pytest.raises(ConfigError, match="demos") as info:
        save_prompt(FULL, tmp_path / "lossy.txt")
    assert info.value.file == str(tmp_path / "lossy.txt")
    assert not (tmp_path / "lossy.txt").exists()


def test_prompt_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('system = "x"\nuser_template = "{text}"\nstrategy = "direct"\ntemprature = 1\n')
    with pytest.raises(ConfigError) as info:
        load_prompt(path)
    assert f"{path}:4: field 'temprature'" in str(info.value)
    path.write_text('system = "x"\ninstruction_position = "middle"\n')
    with pytest.raises(ConfigError) as info:
        load_prompt(path)
    assert (info.value.line, info.value.field) == (2, "instruction_position")
    path.write_text(
        'user_template = "{text}"\n\n[[demos]]\noutput = "a"\ninputs = { text = "t" }\n'
        '\n[[demos]]\noutput = "b"\ninputs = { other = "t" }\n'
    )
    with pytest.raises(ConfigError, match=r"lacks \{text\}") as info:
        load_prompt(path)
    assert (info.value.line, info.value.field) == (9, "demos[1].inputs")
    with pytest.raises(ConfigError, match="not found"):
        load_prompt(tmp_path / "none.txt")
    with pytest.raises(ConfigError, match="unsupported"):
        load_prompt(tmp_path / "p.docx")


def test_validate_prompt_fields_against_cases() -> None:
    cases = (Case("a", {"text": "x"}, "positive"), Case("b", {"body": "y"}, "negative", "d:2"))
    bench = Benchmark("b", cases, build_metric_set(["exact"]), "{text}")
    first_only = Benchmark("b", cases[:1], bench.metrics, "{text}")
    validate_prompt_fields(Prompt("s", "{{literal}} Text: {text}"), first_only)
    with pytest.raises(ConfigError) as info:
        validate_prompt_fields(Prompt("s", "{text}"), bench, prompt_file="p.toml")
    message = str(info.value)
    assert message.startswith("p.toml: field 'user_template'") and "case b (d:2)" in message


safe_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
scalars = st.one_of(safe_text, st.integers(-(2**63), 2**63 - 1), st.booleans(),
                    st.floats(allow_nan=False))  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    system=safe_text,
    template=safe_text.map(lambda t: t.replace("{", "{{").replace("}", "}}") + " {text}"),
    demos=st.lists(st.tuples(st.dictionaries(safe_text, scalars, max_size=3), safe_text),
                   max_size=3),
)  # fmt: skip
def test_toml_and_json_round_trip_any_text(
    tmp_path_factory: pytest.TempPathFactory,
    system: str,
    template: str,
    demos: list[tuple[dict[str, object], str]],
) -> None:
    prompt = Prompt(
        system=system.strip(),
        user_template=template,
        demos=tuple(Demo.of({**inputs, "text": "t"}, output) for inputs, output in demos),
    )
    folder = tmp_path_factory.mktemp("rt")
    for suffix in (".toml", ".json"):
        path = save_prompt(prompt, folder / f"p{suffix}")
        assert load_prompt(path) == prompt


@given(st.dictionaries(safe_text, st.one_of(scalars, st.lists(scalars, max_size=3)), max_size=5))
def test_toml_writer_is_read_back_equal(data: dict[str, object]) -> None:
    # tomli-w, as prompt and suite files are written with it (a "\r" included).
    assert tomllib.loads(toml_text(data)) == data
    assert json.loads(json.dumps(data)) == data
