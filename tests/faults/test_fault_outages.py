"""Outages and refusals end in an error (exit 2, one line), never in a score.

Each test plays one fault on a loopback server and runs the CLI in-process as a user
would; short timeouts and few retries keep the matrix fast.
"""

from __future__ import annotations

import time

import pytest
from fault_suite import error_lines
from llm_http_doubles import Act, FaultServer

from autotune.cli.main import main

FAST = ["--timeout", "2", "--retries", "0", "--no-track"]


def eval_args(url: str, *extra: str) -> list[str]:
    model = f"openai:m@{url}"
    return ["eval", "--prompt", "seed.txt", "--bench", "suite.toml", "--model", model, *extra]


def compare_args(url: str, *extra: str) -> list[str]:
    model = f"openai:m@{url}"
    prompts = ["--prompt", "seed.txt", "--prompt", "other.txt"]
    return ["compare", "--bench", "suite.toml", *prompts, "--model", model, *extra]


def regress_args(url: str, *extra: str) -> list[str]:
    model = f"openai:m@{url}"
    sides = ["--candidate", "other.txt", "--baseline", "seed.txt"]
    return ["regress", "--bench", "suite.toml", *sides, "--model", model, *extra]


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize("command", [eval_args, compare_args, regress_args])
def test_refused_connection_exits_2_without_a_score(
    dead_url: str, command: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(command)
    code = main([*command(dead_url, *FAST[:4], "--no-cache"), *_track_flag(command)])
    out, err = capsys.readouterr()
    assert code == 2
    [line] = error_lines(err)
    assert "connection failed" in line and "nothing has answered" in line
    assert dead_url in line
    assert "PASS" not in out and "score" not in out


def _track_flag(command: object) -> list[str]:
    return ["--no-track"]  # every command logs to MLflow by default (regress too)


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize("status", [401, 403, 404])
@pytest.mark.parametrize("command", [eval_args, compare_args, regress_args])
def test_non_retryable_status_stops_at_once_with_one_line(
    server: FaultServer, status: int, command: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(command)
    server.play(Act("status", status, body='{"error": {"message": "no"}}'))
    started = time.monotonic()
    code = main([*command(server.base_url, "--no-cache"), *_track_flag(command)])
    elapsed = time.monotonic() - started
    _, err = capsys.readouterr()
    assert code == 2
    [line] = error_lines(err)
    assert f"HTTP {status}" in line and server.base_url in line
    assert elapsed < 5
    assert server.count <= 8  # the cases already in flight (concurrency 8), no retries


@pytest.mark.usefixtures("workdir")
def test_chat_with_wrong_key_is_one_line(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("status", 401, body='{"error": "bad key"}'))
    code = main(["chat", "hi", "--model", f"openai:m@{server.base_url}", "--no-cache"])
    assert code == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "HTTP 401" in line
    assert server.count == 1


@pytest.mark.usefixtures("workdir")
def test_regress_against_a_dead_server_never_passes(
    dead_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(regress_args(dead_url, "--retries", "1", "--timeout", "1", "--no-cache"))
    out, err = capsys.readouterr()
    assert code == 2
    assert "PASS" not in out
    [line] = error_lines(err)
    assert "connection failed" in line


@pytest.mark.usefixtures("workdir")
def test_a_server_that_answered_then_went_away_gives_error_rows_not_a_stop(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # It answered once, so its later failures are an outage: error rows, then the policy.
    server.play(Act("ok"), Act("drop"))
    code = main(eval_args(server.base_url, *FAST, "--concurrency", "1", "--no-cache"))
    assert code == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "evaluation unusable" in line and "connection failed" in line
    assert server.count == 3  # 1 answer, then failures until more than 10 % of 12 failed


@pytest.mark.usefixtures("workdir")
def test_500_burst_is_retried_and_gives_the_clean_result(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(*[Act("status", 500, body="{}")] * 3, Act("ok"))
    code = main(eval_args(server.base_url, "--retries", "3", "--concurrency", "1", "--no-track"))
    out, _ = capsys.readouterr()
    assert code == 0
    assert "1.000" in out and "0 errors" in out


@pytest.mark.usefixtures("workdir")
def test_500s_that_outlast_the_retries_make_the_eval_unusable(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("status", 503, body="{}"))
    code = main(eval_args(server.base_url, *FAST, "--no-cache"))
    assert code == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "HTTP 503" in line and "cases failed" in line


@pytest.mark.usefixtures("workdir")
def test_a_few_errors_are_shown_and_left_out_of_the_score(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 of 12 test cases fails (8 % <= 10 % allowed): usable, the error is not a 0.
    server.play(Act("status", 500, body="{}"), Act("ok"))
    code = main(eval_args(server.base_url, *FAST, "--concurrency", "1", "--no-cache"))
    out, _ = capsys.readouterr()
    assert code == 0
    assert "1.000" in out  # 11 scored cases, all right: the error row is not in the mean
    assert "1 errors" in out and "over 11 scored cases" in out


@pytest.mark.usefixtures("workdir")
def test_hanging_server_times_out_per_call(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("hang"))
    started = time.monotonic()
    code = main(eval_args(server.base_url, "--timeout", "0.3", "--retries", "0", "--no-track"))
    assert code == 2
    assert time.monotonic() - started < 8
    [line] = error_lines(capsys.readouterr().err)
    assert "timed out" in line


@pytest.mark.usefixtures("workdir")
def test_garbage_bodies_are_retried_then_reported(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("malformed"))
    code = main(eval_args(server.base_url, "--retries", "1", "--no-track", "--no-cache"))
    assert code == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "malformed response body" in line


@pytest.mark.usefixtures("workdir")
def test_garbage_then_good_answers_recover(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("malformed"), Act("drop"), Act("ok"))
    code = main(eval_args(server.base_url, "--retries", "3", "--concurrency", "1", "--no-track"))
    assert code == 0
    assert "0 errors" in capsys.readouterr().out


@pytest.mark.usefixtures("workdir")
def test_synth_with_a_wrong_key_stops_instead_of_counting_failed_calls(
    server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.play(Act("status", 401, body='{"error": "bad key"}'))
    model = ["--model", f"openai:m@{server.base_url}", "--no-cache", "--no-track"]
    code = main(["synth", "--task", "Label reviews.", "-n", "5", "--out", "c.jsonl", *model])
    assert code == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "HTTP 401" in line
    assert server.count == 1
