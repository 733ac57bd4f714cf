"""Pure-Python text matching for the rules engine: normalisation, banks, similarity.

`coop.signals.text.normalize` (the module) holds the normalisation; the matchers are here.
"""

from coop.signals.text.matcher import InvalidPattern, Match, Matcher, Mode, TextBank
from coop.signals.text.similarity import Similarity, SimilarityBank

__all__ = [
    "InvalidPattern",
    "Match",
    "Matcher",
    "Mode",
    "Similarity",
    "SimilarityBank",
    "TextBank",
]
