"""Evasion-resistant normalisation (rules.md, "Evasion-resistant text matching", steps 1-4).

Every step keeps, for each output character, the range of the original string it stands for,
so a match found on the normalised form is reported on the text the user actually wrote.
The untracked mode skips that bookkeeping; the matcher uses it on the hot path and only tracks
offsets again for a text that matched. Both modes produce the same string.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties), which Python's unicodedata
# does not expose: zero-width characters, bidi controls, variation selectors, fillers, tags.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

# Letter-like symbols that NFKC leaves alone: regional indicators, negative circled and
# negative squared capitals, parenthesised small letters (NFKC would give "(a)").
_ENCLOSED_STARTS = (0x1F1E6, 0x1F150, 0x1F170, 0x249C)

_LATIN_NAME = re.compile(
    r"LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .+)?"
)

LEET = {
    "0": "o",
    "1": "1",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "€": "e",
    "+": "t",
    "¡": "i",
    "¢": "c",
    "§": "s",
}
# "1" stands for "i" as often as for "l" (often both in one phrase: "k1ll y0urs31f"), so it
# stays "1" as a class of its own, and the matcher gives each bank term spellings with "1".
AMBIGUOUS = "1"

_LETTER = r"[^\W\d_]"
_LEET_CLASS = "[" + re.escape("".join(LEET)) + "]"
# Leet symbols (not digits) that also glue a token together; "!" and "+" are left out because
# after a word they are punctuation ("money!", "18+").
_SYMBOLS = re.escape("$@€|¡¢§")
_TRAILING_CLASS = "[" + re.escape("".join(c for c in LEET if c not in "!+")) + "]"
_INNER_LEET = re.compile(rf"(?<={_LETTER}){_LEET_CLASS}+(?={_LETTER})")
_LEADING_LEET = re.compile(rf"(?<![^\W_]|{_LEET_CLASS}){_LEET_CLASS}+(?={_LETTER})")
_TRAILING_LEET = re.compile(rf"(?<={_LETTER}){_TRAILING_CLASS}+(?![^\W_]|[{_SYMBOLS}])")

# Runs of one-character tokens with the same separator between each: "f.r.e.e", "f r e e",
# "$ c @ m"; or letters with a repeated "|" or "+" between them: "w|o|r|k" (other leet symbols
# alternate with letters in real words: "x@n@x"). A pair ("i d") is not joined when a spelled
# run follows it, so "a f.r.e.e" keeps "free" whole. Punctuation may end a run: "f.r.e.e!".
_EDGE = rf"(?<![^\W_]|{_LEET_CLASS})"
_END = rf"(?![^\W_]|{_TRAILING_CLASS})"
_ONE = rf"(?:[^\W_]|{_LEET_CLASS})"
_GAP = rf"(?:[^\w{re.escape(''.join(LEET))}]|_){{1,3}}?"
_SPELLED = re.compile(
    rf"{_EDGE}(?:"
    rf"{_ONE}(?P<gap>{_GAP}){_ONE}(?:(?P=gap){_ONE})+{_END}"
    rf"|{_ONE}(?P<pair>{_GAP}){_ONE}{_END}(?!(?P<next>{_GAP}){_ONE}(?P=next){_ONE})"
    rf"|{_ONE}(?P<symbol>[|+]){_ONE}(?:(?P=symbol){_ONE})*{_END}"
    r")"
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised string and, when tracked, the original range of each of its characters."""

    text: str
    starts: Sequence[int] | None = None
    ends: Sequence[int] | None = None

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The original range covered by normalised characters i..j-1."""
        if self.starts is None or self.ends is None:
            raise ValueError("offsets were not tracked")
        return self.starts[i], self.ends[j - 1]


def _is_ignorable(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


@functools.cache
def _confusables() -> dict[str, str]:
    """Non-ASCII character -> its ASCII letter/digit prototype, from Unicode TR39 confusables.

    The confusable-homoglyphs data lists each TR39 pair in both directions; only pairs whose
    other side is ASCII alphanumeric matter here (ASCII itself is never remapped: "I"/"l"/"1"
    are left to casefolding and the leet step, which know the context).
    """
    path = resources.files("confusable_homoglyphs") / "confusables.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for key, entries in data.items():
        key = key.replace("\u200e", "")
        for entry in entries:
            other = entry["c"].replace("\u200e", "")
            for source, target in ((key, other), (other, key)):
                if (
                    len(source) == 1 == len(target)
                    and not source.isascii()
                    and target.isascii()
                    and target.isalnum()
                ):
                    table.setdefault(source, target)
    return table


def _prototype(char: str) -> str:
    """The ASCII look-alike of one non-ASCII character, or the character itself."""
    table = _confusables()
    found = [table[c] for c in (char, char.casefold(), char.upper()) if c in table]
    if found:
        # TR39 gives "l" for every vertical stroke (I, l, 1, Ι, Ӏ, ǀ): the ambiguous "1" class.
        return AMBIGUOUS if found[0] == "l" else found[0]
    name = _LATIN_NAME.fullmatch(unicodedata.name(char, ""))
    return name.group(1) if name else char


def _fold_once(char: str) -> str:
    cp = ord(char)
    if _is_ignorable(cp):
        return ""
    for start in _ENCLOSED_STARTS:
        if start <= cp < start + 26:
            return chr(ord("a") + cp - start)
    decomposed = unicodedata.normalize("NFKD", char)
    bare = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    composed = unicodedata.normalize("NFKC", bare)
    if composed.isascii():
        return composed.casefold()
    if char in _confusables():
        return _prototype(char).casefold()  # before NFKD, which turns "ϲ" into "ς"
    return "".join(c if c.isascii() else _prototype(c) for c in composed).casefold()


def fold_char(char: str) -> str:
    """Steps 1-2 for one character, applied until stable so folding is idempotent."""
    folded = _fold_once(char)
    for _ in range(4):
        again = "".join(_fold_once(c) for c in folded)
        if again == folded:
            break
        folded = again
    return folded


class _FoldTable(dict):
    """str.translate table filled on first sight of each code point."""

    def __missing__(self, cp: int) -> str:
        folded = fold_char(chr(cp))
        self[cp] = folded
        return folded


_NON_ASCII = re.compile(r"([^\x00-\x7f]+)")
_FOLD = _FoldTable({cp: chr(cp).lower() for cp in range(128)})


def fold(text: str, track: bool) -> Normalized:
    """Steps 1-2: compatibility and confusable folding, marks and ignorables removed."""
    if not track:
        if text.isascii():
            return Normalized(text.lower())
        parts = _NON_ASCII.split(text)  # odd parts are the non-ASCII runs
        return Normalized(
            "".join(p.translate(_FOLD) if i % 2 else p.lower() for i, p in enumerate(parts))
        )
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, char in enumerate(text):
        folded = _FOLD[ord(char)]
        if folded:
            out.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([i + 1] * len(folded))
        elif ends and unicodedata.category(char) in ("Mn", "Me"):
            ends[-1] = i + 1  # a combining mark belongs to the letter it decorates
    return Normalized("".join(out), starts, ends)


def rewrite(
    source: Normalized,
    pattern: re.Pattern[str],
    replace: str | Callable[[re.Match[str]], str],
    ranges: Callable[[re.Match[str], str], Sequence[tuple[int, int]]] | None = None,
    windows: Sequence[tuple[int, int]] | None = None,
) -> Normalized:
    """pattern.sub, carrying offsets when tracked.

    `ranges(match, replacement)` gives, for each replacement character, the range of the
    match it stands for (relative to the match); without it the replacement is 1:1.
    `windows` limits the search to those (sorted, disjoint) slices, each a whole region the
    pattern could match in, so a long text is not scanned character by character in Python.
    """
    tracked = source.starts is not None and source.ends is not None
    if windows is None:
        if not tracked:
            return Normalized(pattern.sub(replace, source.text))
        if ranges is None:
            return Normalized(pattern.sub(replace, source.text), source.starts, source.ends)
        matches: Iterable[re.Match[str]] = pattern.finditer(source.text)
    else:
        matches = itertools.chain.from_iterable(
            pattern.finditer(source.text, lo, hi) for lo, hi in windows
        )
    text = source.text
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for match in matches:
        begin = match.start()
        replacement = replace if isinstance(replace, str) else replace(match)
        out.append(text[last:begin])
        out.append(replacement)
        if tracked and ranges is not None:
            starts.extend(source.starts[last:begin])
            ends.extend(source.ends[last:begin])
            for lo, hi in ranges(match, replacement):
                starts.append(source.starts[begin + lo])
                ends.append(source.ends[begin + hi - 1])
        last = match.end()
    out.append(text[last:])
    if not tracked:
        return Normalized("".join(out))
    if ranges is None:
        return Normalized("".join(out), source.starts, source.ends)
    starts.extend(source.starts[last:])
    ends.extend(source.ends[last:])
    return Normalized("".join(out), starts, ends)


def _step(match: re.Match[str]) -> int:
    return len(match.group("gap") or match.group("pair") or match.group("symbol")) + 1


def _unspell(match: re.Match[str]) -> str:
    return match.group()[:: _step(match)]


def _unspell_ranges(match: re.Match[str], replacement: str) -> list[tuple[int, int]]:
    step = _step(match)
    return [(k * step, k * step + 1) for k in range(len(replacement))]


class _ShapeTable(dict):
    """str.translate table giving each character's shape: letter "a", leet "1", other digit
    "0", anything else " ". The shape string lets cheap substring tests skip regex passes."""

    def __missing__(self, cp: int) -> str:
        char = chr(cp)
        if char in LEET:
            shape = "1"
        elif char.isalpha():
            shape = "a"
        else:
            shape = "0" if char.isalnum() else " "
        self[cp] = shape
        return shape


_SHAPES = _ShapeTable()
_ASCII_SHAPES = bytes(ord(_SHAPES[cp]) for cp in range(128)) + b" " * 128
_TOKENS_ONLY = bytes.maketrans(b"01", b"aa")
# Two one-character tokens at most three separators apart, in a space-padded token shape.
_SPELLED_SHAPES = (" a a ", " a  a ", " a   a ")
_LONG_TOKEN = re.compile(r"[^ ]{2,}")


def _shape(text: str) -> str:
    """The shape string of `text`, padded with a space: shape[i + 1] is the shape of text[i]."""
    if text.isascii():
        return f" {text.encode('ascii').translate(_ASCII_SHAPES).decode('ascii')} "
    return f" {text.translate(_SHAPES)} "


def _token(shape: str, at: int) -> tuple[int, int]:
    """The text range of the token whose shape covers shape index `at`."""
    return shape.rfind(" ", 0, at), shape.find(" ", at) - 1


def _spelled_windows(shape: str, symbols: bool) -> list[tuple[int, int]]:
    """Text regions where a spelled-out run may be: from a pair of one-character tokens to
    the end of the next longer token (a run cannot go past it). With `symbols` ("w|o|r|k"),
    every token holding a leet character is a region too."""
    tokens = shape.encode("ascii").translate(_TOKENS_ONLY).decode("ascii")
    starts = sorted({at for pair in _SPELLED_SHAPES for at in _positions(tokens, pair)})
    if symbols:
        starts = sorted({*starts, *(_token(shape, i)[0] for i in _positions(shape, "1"))})
    windows: list[tuple[int, int]] = []
    for start in starts:
        lo = _token(shape, start + 1)[0]
        if windows and lo <= windows[-1][1]:
            continue
        longer = _LONG_TOKEN.search(shape, start + 2)
        hi = _token(shape, longer.start())[1] if longer else len(shape) - 2
        windows.append((lo, hi))
    return windows


def _positions(shape: str, char: str) -> list[int]:
    found = []
    at = shape.find(char)
    while at != -1:
        found.append(at)
        at = shape.find(char, at + 1)
    return found


def _leet_windows(shape: str) -> list[tuple[int, int]]:
    """The tokens in which a leet character touches a letter."""
    tokens: set[tuple[int, int]] = set()
    for pair in ("a1", "1a"):
        for at in _positions(shape, pair):
            tokens.add(_token(shape, at))
    return sorted(tokens)


def join_spelled(source: Normalized, shape: str | None = None) -> Normalized:
    """Step 4b: "f.r.e.e", "f r e e", "f_r_e_e" -> "free"."""
    shape = _shape(source.text) if shape is None else shape
    symbols = "|" in source.text or "+" in source.text  # "w|o|r|k" has no spaced shape
    windows = _spelled_windows(shape, symbols)
    if not windows:
        return source
    return rewrite(source, _SPELLED, _unspell, _unspell_ranges, windows)


_LEET_CODES = str.maketrans(LEET)


def _leet_replace(match: re.Match[str]) -> str:
    return match.group().translate(_LEET_CODES)


def leet(source: Normalized, edges: bool, shape: str | None = None) -> Normalized:
    """Step 3: leet characters between letters, and with `edges` also at a word's edge.

    A token needs a letter for any of it to change, so "2024" and "$5" stay as they are.
    """
    windows = _leet_windows(_shape(source.text) if shape is None else shape)
    if not windows:
        return source
    result = rewrite(source, _INNER_LEET, _leet_replace, windows=windows)
    return edge_leet(result, windows) if edges else result


def edge_leet(source: Normalized, windows: Sequence[tuple[int, int]]) -> Normalized:
    """The edge half of step 3: "fr33" -> "free", "l337" -> "leet", "$cam" -> "scam"."""
    result = rewrite(source, _LEADING_LEET, _leet_replace, windows=windows)
    return rewrite(result, _TRAILING_LEET, _leet_replace, windows=windows)


def variants(text: str, track: bool = False) -> list[Normalized]:
    """The forms a text is matched in: without and with leet at word edges.

    Edge leet is ambiguous ("fr33" is "free", "mp3" is not "mpe"), so both forms are tried;
    the second form is left out when it is the same as the first.
    """
    folded = fold(text, track)
    shape = _shape(folded.text)
    joined = join_spelled(folded, shape)
    if joined is not folded:
        shape = _shape(joined.text)
    windows = _leet_windows(shape)
    if not windows:
        return [joined]
    plain = rewrite(joined, _INNER_LEET, _leet_replace, windows=windows)
    edged = edge_leet(plain, windows)
    return [plain] if edged.text == plain.text else [plain, edged]


def normalize(text: str) -> Normalized:
    """Steps 1-4 (runs of repeated letters are left for the matcher), with offsets."""
    return leet(join_spelled(fold(text, track=True)), edges=True)
