"""Near-duplicate detection: cosine similarity of character n-gram TF-IDF vectors.

Character n-grams (within word boundaries) catch rewordings that share most of their
spelling ("I was charged twice" / "I was charged two times") without any model
download. The IDF weights are fitted on the stored texts plus the query, so a pair's
similarity depends only on texts the caller has seen; fitting is cheap at the sizes
synthetic test sets have (hundreds of short texts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NGRAM_RANGE = (3, 5)


@dataclass(frozen=True)
class Match:
    """The most similar stored text and its cosine similarity to the query."""

    similarity: float
    index: int
    text: str


class SimilarityIndex:
    """Stored texts that a new text is compared against.

    Args:
        texts: Texts to start with (e.g. a prompt's few-shot examples).
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self.texts: list[str] = [text for text in texts if text.strip()]

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str) -> None:
        """Store ``text`` for later comparisons."""
        self.texts.append(text)

    def nearest(self, text: str) -> Match | None:
        """The stored text most similar to ``text``, or None when nothing is stored."""
        if not self.texts or not text.strip():
            return None
        similarities = _similarities(text, self.texts)
        best = max(range(len(similarities)), key=similarities.__getitem__)
        return Match(similarities[best], best, self.texts[best])


def similarity(first: str, second: str) -> float:
    """Cosine similarity of two texts' character n-gram TF-IDF vectors, in [0, 1]."""
    if not first.strip() or not second.strip():
        return 0.0
    return _similarities(first, [second])[0]


def _similarities(query: str, texts: list[str]) -> list[float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=True)
    try:
        matrix = vectorizer.fit_transform([query, *texts])
    except ValueError:  # no n-gram at all (e.g. only punctuation): nothing is similar
        return [0.0] * len(texts)
    scores = cosine_similarity(matrix[0], matrix[1:])[0]
    return [min(1.0, max(0.0, float(score))) for score in scores]
