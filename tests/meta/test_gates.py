"""Gates: chatter and off-task edits never reach scoring."""

from __future__ import annotations

import pytest

from autotune.meta.gates import check_edit, debris, vocabulary

TASK = vocabulary(
    ["Decide whether a movie review is positive or negative.", "positive", "negative"]
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Sure! Here is a better prompt for you.", "chat reply"),
        ("A.A. is a very special person. P.S. thanks", "chat reply"),
        ("#Specter, A.A. is a very special person", "markup"),
        ("The sentence is three of the 80 sentences in the prompt.", "talk about the prompt"),
        ("I think the review is positive.", "first person"),
        ("Is the review positive?", "question"),
        ("the tne the tne the tne of the tne of", "repetition"),
        ("reviews are about lighthearted andthoughtfulviewpointsandmore", "run-together words"),
    ],
)
def test_chat_debris_is_named(text: str, kind: str) -> None:
    assert debris(text) == kind
    assert not check_edit(text, TASK).ok


def test_an_edit_sharing_no_word_with_the_task_is_off_task() -> None:
    verdict = check_edit("Specter is a very special person who has helped people.", TASK)
    assert verdict == check_edit("Specter is a very special person who has helped people.", TASK)
    assert not verdict.ok and verdict.reason.startswith("off-task")


def test_an_on_task_sentence_passes() -> None:
    assert check_edit("movie reviews that praise the acting are positive.", TASK).ok
    assert check_edit("Negative reviews complain about dull films.", TASK).ok
