"""Label words: what a constrained label guide may choose from."""

from __future__ import annotations

from autotune.bench.case import Case
from autotune.meta.keywords import label_words

LABELS = ("World", "Sports")


def _cases(rows: list[tuple[str, str]]) -> list[Case]:
    return [Case(f"c{i}", {"text": text}, label) for i, (text, label) in enumerate(rows)]


def test_words_common_in_one_label_and_rare_in_the_other_rank_first() -> None:
    cases = _cases(
        [
            ("The minister spoke of the election and the war.", "World"),
            ("Rebels ended the war; the minister resigned.", "World"),
            ("Troops left after the war and the election.", "World"),
            ("The team won the match in the final minute.", "Sports"),
            ("A coach praised the team after the match.", "Sports"),
            ("The team signed a striker before the season.", "Sports"),
        ]
    )
    words = label_words(cases, LABELS)
    assert words["World"][:3] == ("war", "election", "minister")
    assert words["Sports"][:2] == ("team", "match")
    # Seen in one text only: an anecdote, not a topic.
    assert "rebels" not in words["World"] and "striker" not in words["Sports"]
    assert "the" not in words["World"]


def test_label_names_markup_and_shared_words_are_left_out() -> None:
    cases = _cases(
        [
            ('World news: talks &lt;A HREF="http://x.example/q.aspx"&gt;more&lt;/A&gt;', "World"),
            ("World news: talks resume &quot;today&quot;", "World"),
            ("Sports news: talks of a trade", "Sports"),
            ("Sports news: a trade deadline", "Sports"),
        ]
    )
    words = label_words(cases, LABELS)
    assert "world" not in words["World"] and "sports" not in words["Sports"]
    assert not {"href", "aspx", "quot"} & set(words["World"])
    assert "news" not in words["World"]  # as common in both labels
    assert words["World"] == ("talks",) and words["Sports"] == ("trade",)


def test_no_labels_or_no_cases_give_no_words() -> None:
    assert label_words([], LABELS) == {"World": (), "Sports": ()}
    assert label_words(_cases([("text", "x")]), ()) == {}
