"""TEXT_SIMILARITY_SCORE: the best fuzzy similarity (0..1) of a text to any bank value.

Both sides go through the evasion normalisation first, so "fr33 m0ney" is as close to
"free money" as the plain spelling. As in Coop, a value longer than the text is compared
whole (`ratio`); a value no longer than the text is looked for inside it (`partial_ratio`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from coop.signals.text.normalize import normalize

_SEPARATORS = re.compile(r"[\W_]+")


def prepare(text: str) -> str:
    """Normalised words separated by single spaces."""
    return _SEPARATORS.sub(" ", normalize(text).text).strip()


@dataclass(frozen=True, slots=True)
class Similarity:
    score: float
    value: str


class SimilarityBank:
    """Values prepared once and ordered by length (then bank order), built per bank version."""

    def __init__(self, values: Sequence[str]) -> None:
        entries = sorted(
            ((prepare(value), index, value) for index, value in enumerate(values)),
            key=lambda entry: (len(entry[0]), entry[1]),
        )
        self._prepared = [prepared for prepared, _, _ in entries]
        self._lengths = [len(prepared) for prepared in self._prepared]
        self._values = [value for _, _, value in entries]

    def best(self, text: str) -> Similarity | None:
        """The highest-scoring value (ties: the shortest, then the first), or None if empty."""
        if not self._values:
            return None
        query = prepare(text)
        split = bisect.bisect_right(self._lengths, len(query))
        candidates: list[tuple[float, int]] = []
        for scorer, lo, hi in ((fuzz.partial_ratio, 0, split), (fuzz.ratio, split, None)):
            choices = self._prepared[lo:hi]
            if not choices or not query:
                continue
            found = process.extractOne(query, choices, scorer=scorer)
            if found is not None:
                candidates.append((found[1], lo + found[2]))
        if not candidates:
            return Similarity(0.0, self._values[0])
        score, position = max(candidates, key=lambda c: (c[0], -c[1]))
        return Similarity(score / 100, self._values[position])
