"""``autotune chat`` and ``autotune serve-local`` argument handling."""

from __future__ import annotations

import pytest

from autotune.cli.main import main


def test_chat_prints_answer_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hello there", "--model", "fake", "--system", "be brief"]) == 0
    out, err = capsys.readouterr()
    assert out == "hello there\n"
    assert "tokens: 4 prompt + 2 completion" in err  # "be brief" + "hello there"
    assert "cached: no" in err
    assert "fake:echo" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["chat", "x", "--model", "nonsense:1"], "field 'model'"),
        (["chat", "x", "--model", "openai:"], "field 'model'"),
        (["chat", "x", "--model", "fake", "--max-tokens", "0"], "--max-tokens"),
        (["chat", "x", "--model", "fake", "--temperature", "-1"], "--temperature"),
        (["serve-local", "--model", "openai:gpt-4o"], "field 'model'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("autotune: error:")
    assert fragment in err
