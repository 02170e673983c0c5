from autotune.gen._dedup import SimilarityIndex, similarity


def test_identical_texts_are_fully_similar_ignoring_case() -> None:
    assert similarity("I was charged twice", "i was CHARGED twice") == 1.0


def test_rewording_is_more_similar_than_an_unrelated_text() -> None:
    base = "I was charged twice for my subscription this month"
    reworded = "I was charged two times for my subscription this month"
    unrelated = "The weather in Paris is lovely in spring"
    assert similarity(base, reworded) > 0.6 > similarity(base, unrelated)


def test_empty_or_symbol_only_texts_are_never_similar() -> None:
    assert similarity("", "anything") == 0.0
    assert similarity("!!", "??") == 0.0


def test_index_returns_the_nearest_stored_text() -> None:
    index = SimilarityIndex(["refund my double charge please", "", "where is my parcel"])
    assert len(index) == 2  # empty texts are not stored
    match = index.nearest("please refund the double charge")
    assert match is not None
    assert (match.index, match.text) == (0, "refund my double charge please")
    assert 0.3 < match.similarity < 1.0
    assert SimilarityIndex().nearest("anything") is None
