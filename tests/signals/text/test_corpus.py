"""Recall and false-positive rate on the labelled corpus in tests/data/evasion/."""

import json
from collections import Counter
from pathlib import Path

import pytest

from coop.signals.text import Mode, TextBank

CORPUS = Path(__file__).parents[2] / "data" / "evasion"


def rows(name: str) -> list[dict]:
    with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def matcher():
    terms = [t for t in (CORPUS / "bank.txt").read_text(encoding="utf-8").split("\n") if t]
    return TextBank.compile(terms, Mode.VARIANT)


def test_corpus_size_and_classes():
    positives = rows("positives")
    classes = {row["class"] for row in positives}
    assert len(positives) >= 300
    assert len(rows("negatives")) >= 1000
    for name in (
        "homoglyph",
        "mixed_script",
        "fullwidth",
        "math",
        "enclosed",
        "zalgo",
        "zero_width",
        "bidi",
        "leet",
        "repeated",
        "separators",
        "no_separator",
        "split_word",
        "tr39_cyrillic",
    ):
        assert name in classes
    assert "split_scunthorpe" in {row["class"] for row in rows("negatives")}


def test_recall_on_evasive_positives(matcher):
    positives = rows("positives")
    missed = Counter()
    for row in positives:
        found = matcher.find_all(row["text"])
        if row["term"] not in {m.term for m in found}:
            missed[row["class"]] += 1
        else:
            match = next(m for m in found if m.term == row["term"])
            assert row["text"][match.start : match.end] == match.text
    recall = 1 - sum(missed.values()) / len(positives)
    print(f"\nrecall {recall:.4f} on {len(positives)} positives; missed by class: {dict(missed)}")
    assert recall >= 0.95


def test_false_positive_rate_on_clean_negatives(matcher):
    negatives = rows("negatives")
    hits = [(row["text"], matcher.find(row["text"])) for row in negatives]
    false = [(text, m.term) for text, m in hits if m is not None]
    rate = len(false) / len(negatives)
    print(f"\nfalse-positive rate {rate:.4f} on {len(negatives)} negatives: {false[:5]}")
    assert rate <= 0.005


@pytest.mark.parametrize("name", ["split_word", "tr39_cyrillic"])
def test_recall_on_the_later_classes(matcher, name):
    positives = [row for row in rows("positives") if row["class"] == name]
    found = sum(row["term"] in {m.term for m in matcher.find_all(row["text"])} for row in positives)
    assert found / len(positives) >= 0.95


def test_single_separators_in_clean_text_match_nothing(matcher):
    negatives = [row for row in rows("negatives") if row["class"] == "split_scunthorpe"]
    assert len(negatives) >= 20
    assert [row["text"] for row in negatives if matcher.find(row["text"])] == []
