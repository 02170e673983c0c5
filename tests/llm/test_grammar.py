"""Choice grammars: every choice exactly, escaped so llama.cpp parses them."""

from __future__ import annotations

import pytest

from autotune.llm.grammar import choice_grammar


def test_choices_are_alternatives_of_the_root_rule_without_repeats() -> None:
    grammar = choice_grammar(["World", "Sci/Tech", "World"])
    assert grammar == 'root ::= "World" | "Sci/Tech"'


def test_no_choice_or_an_empty_one_is_refused() -> None:
    for choices in ([], ["yes", ""]):
        with pytest.raises(ValueError, match="non-empty choice"):
            choice_grammar(choices)
