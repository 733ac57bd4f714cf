"""Evasion-resistant normalisation (rules.md, "Evasion-resistant text matching", steps 1-4).

Every step keeps, for each output character, the range of the original string it stands for,
so a match found on the normalised form is reported on the text the user actually wrote.
The untracked mode skips that bookkeeping; the matcher uses it on the hot path and, for a
match, works out the offsets of just its two ends (Forms.span). Both modes produce the same
string.
"""

from __future__ import annotations

import bisect
import codecs
import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from operator import itemgetter

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
# stays "1" as a class of its own, and the matcher reads it both ways in the text.
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
# Around "|" or "+" separators a token is never one of them: "0++" is not "0" "+" "+" (a run
# already joined once stays as it is, so normalising is idempotent).
_NOT_SYMBOL = "[" + re.escape("".join(c for c in LEET if c not in "|+")) + "]"
_ONE_BESIDE_SYMBOL = rf"(?:[^\W_]|{_NOT_SYMBOL})"
_GAP = rf"(?:[^\w{re.escape(''.join(LEET))}]|_){{1,3}}?"
_SPELLED = re.compile(
    rf"{_EDGE}(?:"
    rf"{_ONE}(?P<gap>{_GAP}){_ONE}(?:(?P=gap){_ONE})+{_END}"
    rf"|{_ONE}(?P<pair>{_GAP}){_ONE}{_END}(?!(?P<next>{_GAP}){_ONE}(?P=next){_ONE})"
    rf"|{_ONE_BESIDE_SYMBOL}(?P<symbol>[|+]){_ONE_BESIDE_SYMBOL}"
    rf"(?:(?P=symbol){_ONE_BESIDE_SYMBOL})*{_END}"
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

    The full confusables.txt of UTS #39 (data/confusables.txt, see VENDORED.md): each line
    maps one source character to its skeleton prototype. Only sources that are one non-ASCII
    character with a one-character ASCII alphanumeric prototype matter here (ASCII itself is
    never remapped: "I"/"l"/"1" are left to casefolding and the leet step, which know the
    context).
    """
    path = resources.files("coop.signals.text") / "data" / "confusables.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source, target = ("".join(chr(int(cp, 16)) for cp in f.split()) for f in fields[:2])
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


NON_ASCII_LEET = "".join(c for c in LEET if not c.isascii())


def _separator(char: str) -> bool:
    """A non-ASCII character that is neither a letter or digit nor a leet symbol."""
    return not char.isascii() and not char.isalnum() and char not in NON_ASCII_LEET


# ASCII control characters (not whitespace, not NUL) that stand for non-ASCII separators.
_STAND_FOR = "".join(map(chr, (*range(0x01, 0x09), *range(0x0E, 0x20))))


def _stand_in(char: str) -> str:
    return _STAND_FOR[ord(char) % len(_STAND_FOR)]


class _FoldTable(dict):
    """str.translate table filled on first sight of each code point.

    A non-ASCII separator ("—", "。", "💦") folds to an ASCII control character standing for
    it (different separators mostly get different ones, so a run spelled out with one
    separator still ends at another: "c🔥a🔥r🔥d c🔥l"). The only non-ASCII characters of a
    folded text that are not letters or digits are then the leet symbols (NON_ASCII_LEET),
    and the matcher splits words with bytes operations instead of a regular expression.
    """

    def __missing__(self, cp: int) -> str:
        folded = fold_char(chr(cp))
        if not folded.isascii():
            folded = "".join(_stand_in(c) if _separator(c) else c for c in folded)
        self[cp] = folded
        return folded


_NON_ASCII = re.compile(r"([^\x00-\x7f]+)")
_RUNS = threading.local()


def _record_run(error: UnicodeEncodeError) -> tuple[str, int]:
    _RUNS.found.append((error.start, error.end))
    return "", error.end


# The ASCII encoder calls its error handler once per run of non-ASCII characters, so encoding
# finds the runs at C speed (a regular expression reads every character in Python's engine).
codecs.register_error("coop-non-ascii-runs", _record_run)


def _split_runs(text: str) -> list[str]:
    """`_NON_ASCII.split(text)`: ASCII stretches and, at odd indexes, the non-ASCII runs."""
    _RUNS.found = found = []
    text.encode("ascii", "coop-non-ascii-runs")
    parts = []
    last = 0
    for start, end in found:
        parts += (text[last:start], text[start:end])
        last = end
    parts.append(text[last:])
    return parts


_first = itemgetter(0)
_FOLD = _FoldTable({cp: chr(cp).lower() for cp in range(128)})


class _ShapeTable(dict):
    """str.translate table giving each character's shape: letter "a", leet "1" ("!" for "!"
    and "+", which after a word are punctuation), other digit "0", anything else " ".
    The shape string lets cheap substring tests skip regex passes."""

    def __missing__(self, cp: int) -> str:
        char = chr(cp)
        if char in "!+":
            shape = "!"
        elif char in LEET:
            shape = "1"
        elif char.isalpha():
            shape = "a"
        else:
            shape = "0" if char.isalnum() else " "
        self[cp] = shape
        return shape


_SHAPES = _ShapeTable()
_ASCII_SHAPES = bytes(ord(_SHAPES[cp]) for cp in range(128)) + b" " * 128
_STAND_INS = {"a": "a", "1": "$", "0": "2", " ": "#"}


class _ProxyTable(dict):
    """str.translate table giving what a non-ASCII character folds to, with each non-ASCII
    character of that replaced by an ASCII one of the same shape: the shape of a folded
    text is then one bytes.translate, not a lookup per character."""

    def __missing__(self, cp: int) -> str:
        proxy = "".join(c if c.isascii() else _STAND_INS[_SHAPES[ord(c)]] for c in _FOLD[cp])
        self[cp] = proxy
        return proxy


_PROXY = _ProxyTable()


class _IrregularTable(dict):
    """str.translate table keeping only the characters that do not fold to exactly one."""

    def __missing__(self, cp: int) -> str | None:
        irregular = None if len(_FOLD[cp]) == 1 else chr(cp)
        self[cp] = irregular
        return irregular


_IRREGULAR = _IrregularTable()


def _ascii_shape(text: str) -> str:
    """The shape string of an ASCII text, padded with a space: shape[i + 1] is text[i]'s."""
    return f" {text.encode('ascii').translate(_ASCII_SHAPES).decode('ascii')} "


def _fold(text: str, track: bool) -> tuple[Normalized, str]:
    """Steps 1-2 and the shape of the result.

    ASCII stretches only need lowercasing, so only the non-ASCII runs go through the tables,
    and offsets are tracked character by character only inside those runs.
    """
    if text.isascii():
        folded = text.lower()
        if not track:
            return Normalized(folded), _ascii_shape(text)
        return Normalized(folded, range(len(text)), range(1, len(text) + 1)), _ascii_shape(text)
    parts = _split_runs(text)  # odd parts are the non-ASCII runs
    runs = parts[1::2]
    proxy = parts.copy()
    proxy[1::2] = [run.translate(_PROXY) for run in runs]
    shape = _ascii_shape("".join(proxy))
    if not track:
        proxy[0::2] = [part.lower() for part in parts[0::2]]
        proxy[1::2] = [run.translate(_FOLD) for run in runs]
        return Normalized("".join(proxy)), shape
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for index, part in enumerate(parts):
        if index % 2 == 0 or not part.translate(_IRREGULAR):
            out.append(part.translate(_FOLD) if index % 2 else part.lower())
            # One character for one: the offsets are a plain range.
            starts += range(at, at + len(part))
            ends += range(at + 1, at + len(part) + 1)
        else:
            for i, char in enumerate(part, at):
                folded = _FOLD[ord(char)]
                if folded:
                    out.append(folded)
                    starts += [i] * len(folded)
                    ends += [i + 1] * len(folded)
                elif ends and unicodedata.category(char) in ("Mn", "Me"):
                    ends[-1] = i + 1  # a combining mark belongs to the letter it decorates
        at += len(part)
    return Normalized("".join(out), starts, ends), shape


def fold(text: str, track: bool) -> Normalized:
    """Steps 1-2: compatibility and confusable folding, marks and ignorables removed."""
    return _fold(text, track)[0]


_TOKENS_ONLY = bytes.maketrans(b"01!", b"aaa")
# Two one-character tokens at most three separators apart.
_SINGLE_PAIRS = re.compile(rb" (?=a {1,3}a )")
_LONG_TOKEN = re.compile(r"[^ ]{2,}")


def _token(shape: str, at: int) -> tuple[int, int]:
    """The text range of the token whose shape covers shape index `at`."""
    return shape.rfind(" ", 0, at), shape.find(" ", at) - 1


def _tokens_at(shape: str, found: Iterable[int]) -> list[tuple[int, int]]:
    """The tokens covering the shape indices `found` (in increasing order), each once: an index
    inside the token found last is skipped, so a long token is scanned once, not per index."""
    tokens: list[tuple[int, int]] = []
    for at in found:
        if tokens and at <= tokens[-1][1]:
            continue
        tokens.append(_token(shape, at))
    return tokens


def _spelled_windows(text: str, shape: str) -> list[tuple[int, int]]:
    """Text regions where a spelled-out run may be: from a pair of one-character tokens at
    most three separators apart to the end of the next longer token (a run cannot go past
    it), and each token holding a "|" or "+" ("w|o|r|k")."""
    tokens = shape.encode("ascii").translate(_TOKENS_ONLY)  # every token character is "a"
    starts = {match.start() for match in _SINGLE_PAIRS.finditer(tokens)}
    for symbol in "|+":
        starts.update(lo for lo, _ in _tokens_at(shape, [at + 1 for at in positions(text, symbol)]))
    windows: list[tuple[int, int]] = []
    for start in sorted(starts):
        lo = _token(shape, start + 1)[0]
        if windows and lo <= windows[-1][1]:
            continue
        longer = _LONG_TOKEN.search(shape, start + 2)
        hi = _token(shape, longer.start())[1] if longer else len(shape) - 2
        windows.append((lo, hi))
    return windows


def positions(text: str, char: str) -> list[int]:
    """Where `char` (or a substring) occurs in `text`, by str.find rather than a regex."""
    found = []
    at = text.find(char)
    while at != -1:
        found.append(at)
        at = text.find(char, at + 1)
    return found


def _leet_windows(shape: str) -> list[tuple[int, int]]:
    """The tokens in which a leet character touches a letter ("!" or "+" only before one)."""
    found = positions(shape, "a1") + positions(shape, "1a") + positions(shape, "!a")
    if not found:
        return []
    found.sort()
    return _tokens_at(shape, found)


def _step(match: re.Match[str]) -> int:
    return len(match.group("gap") or match.group("pair") or match.group("symbol")) + 1


# A spelled-out run joined into a word: where the word starts and how long it is in the
# joined text, and the folded range it came from, whose every `step`-th character it keeps.
_Join = tuple[int, int, int, int, int]  # (start, length, folded start, folded end, step)


# The spelled-out runs of windows seen lately ("e.g. a", "a b c of" come again and again).
_SPELLED_RUNS: dict[str, tuple[tuple[int, int, int], ...]] = {}


def _spelled_runs(text: str, lo: int, hi: int) -> tuple[tuple[int, int, int], ...]:
    """(start, end, step) of each spelled-out run in text[lo:hi], relative to lo. The window
    starts a token (what is before it is a separator) and the run cannot go past its end, so
    the window's text alone decides them."""
    window = text[lo:hi]
    found = _SPELLED_RUNS.get(window)
    if found is None:
        found = tuple(
            (match.start() - lo, match.end() - lo, _step(match))
            for match in _SPELLED.finditer(text, lo, hi)
        )
        if len(window) <= 4 * _LONGEST_KEPT:
            if len(_SPELLED_RUNS) >= _MAX_LEET_TOKENS:
                _SPELLED_RUNS.clear()
            _SPELLED_RUNS[window] = found
    return found


def _join(source: Normalized, shape: str) -> tuple[Normalized, str, list[_Join]]:
    """Step 4b on a text and its shape: "f.r.e.e", "f r e e", "f_r_e_e" -> "free".

    A joined letter keeps the offsets and shape of the character it was.
    """
    text = source.text
    tracked = source.starts is not None and source.ends is not None
    out: list[str] = []
    shapes: list[str] = [" "]
    joins: list[_Join] = []
    starts: list[int] = []
    ends: list[int] = []
    last = at = 0
    for lo, hi in _spelled_windows(text, shape):
        for first, stop, step in _spelled_runs(text, lo, hi):
            begin, end = lo + first, lo + stop
            word = text[begin:end:step]
            at += begin - last
            joins.append((at, len(word), begin, end, step))
            at += len(word)
            out += (text[last:begin], word)
            shapes += (shape[last + 1 : begin + 1], shape[begin + 1 : end + 1 : step])
            if tracked:
                starts += (*source.starts[last:begin], *source.starts[begin:end:step])
                ends += (*source.ends[last:begin], *source.ends[begin:end:step])
            last = end
    if not out:
        return source, shape, joins
    out.append(text[last:])
    shapes.append(shape[last + 1 :])
    if not tracked:
        return Normalized("".join(out)), "".join(shapes), joins
    starts += source.starts[last:]
    ends += source.ends[last:]
    return Normalized("".join(out), starts, ends), "".join(shapes), joins


_LEET_CODES = str.maketrans(LEET)


def _leet_replace(match: re.Match[str]) -> str:
    return match.group().translate(_LEET_CODES)


@dataclass(slots=True)
class Forms:
    """A text after steps 1-4b: the plain form (leet only between letters) and the edits,
    (start, end, replacement), that make the edged form (leet also at word edges).

    Leet never changes a length, so both forms share their offsets. Untracked, `span` works
    the offsets out for just the two characters asked about, so a text that matched does
    not pay for an offset map of all of it.
    """

    source: str
    plain: Normalized
    edits: list[tuple[int, int, str]]
    joins: list[_Join]
    # (folded start, source start, run) of each ASCII and non-ASCII run of the source
    _runs: list[tuple[int, int, str]] | None = field(default=None, init=False, repr=False)

    @property
    def edged(self) -> Normalized:
        return Normalized(edited(self.plain.text, self.edits), self.plain.starts, self.plain.ends)

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The original range covered by form characters i..j-1."""
        if self.plain.starts is not None:
            return self.plain.span(i, j)
        return self._original(self._folded(i))[0], self._original(self._folded(j - 1))[1]

    def _folded(self, at: int) -> int:
        """The position in the folded text of joined character `at`."""
        index = bisect.bisect_right(self.joins, at, key=_first) - 1
        if index < 0:
            return at
        start, length, begin, end, step = self.joins[index]
        if at < start + length:
            return begin + (at - start) * step
        return at + end - start - length

    def _original(self, at: int) -> tuple[int, int]:
        """The original range of folded character `at`, as fold(track=True) gives it."""
        if self.source.isascii():
            return at, at + 1
        if self._runs is None:  # once per text, however many matches it has
            self._runs = []
            folded = offset = 0
            for index, part in enumerate(_split_runs(self.source)):
                self._runs.append((folded, offset, part))
                folded += len(part.translate(_FOLD)) if index % 2 else len(part)
                offset += len(part)
        folded, offset, part = self._runs[bisect.bisect_right(self._runs, at, key=_first) - 1]
        if part.isascii():  # ASCII folds one character for one
            return self._marked(offset + at - folded)
        for i, char in enumerate(part, offset):
            folded += len(_FOLD[ord(char)])
            if at < folded:
                return (i, i + 1) if at < folded - 1 else self._marked(i)
        raise IndexError(at)

    def _marked(self, index: int) -> tuple[int, int]:
        """source[index] and the combining marks after it, which belong to its last letter."""
        end = index + 1
        for later in range(index + 1, len(self.source)):
            char = self.source[later]
            if _FOLD[ord(char)]:
                break
            if unicodedata.category(char) in ("Mn", "Me"):
                end = later + 1
        return index, end


# The plain and edged forms of tokens seen lately ("3rd", "9am", "$5" come again and again);
# a token's shape is a function of its folded text, so the text is the key.
_LEET_TOKENS: dict[str, tuple[str, str]] = {}
_MAX_LEET_TOKENS = 50_000
_LONGEST_KEPT = 32  # characters: the cache stays within a few MB


def _leet_token(plain: str, shape: str) -> tuple[str, str]:
    """The plain and the edged form of one token, given its shape."""
    edged = plain
    # Each pass is tried only if its shape is there; a non-leet digit may be a letter to the
    # patterns ("𝍠" is numeric but not a decimal digit), so it rules nothing out.
    other = "0" in shape
    if other or (("a1" in shape or "a!" in shape) and ("1a" in shape or "!a" in shape)):
        plain = edged = _INNER_LEET.sub(_leet_replace, plain)
    if shape[0] in "1!":
        edged = _LEADING_LEET.sub(_leet_replace, edged)
    if other or "a1" in shape:
        edged = _TRAILING_LEET.sub(_leet_replace, edged)
    return plain, edged


def forms(text: str, track: bool = False) -> Forms:
    """Steps 1-4b; leet is decided token by token (a token is a run of letters, digits and
    leet symbols, so its edges are the text's word edges)."""
    joined, shape, joins = _join(*_fold(text, track))
    folded = joined.text
    out: list[str] = []
    edits: list[tuple[int, int, str]] = []
    last = 0
    for lo, hi in _leet_windows(shape):
        token = folded[lo:hi]
        found = _LEET_TOKENS.get(token)
        if found is None:
            found = _leet_token(token, shape[lo + 1 : hi + 1])
            if len(token) <= _LONGEST_KEPT:
                if len(_LEET_TOKENS) >= _MAX_LEET_TOKENS:
                    _LEET_TOKENS.clear()
                _LEET_TOKENS[token] = found
        plain, edged = found
        out += (folded[last:lo], plain)
        if edged != plain:
            edits.append((lo, hi, edged))
        last = hi
    if out:
        out.append(folded[last:])
        joined = Normalized("".join(out), joined.starts, joined.ends)
    return Forms(text, joined, edits, joins)


def edited(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """`text` with same-length (start, end, replacement) edits applied."""
    out: list[str] = []
    last = 0
    for start, end, replacement in edits:
        out += (text[last:start], replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def variants(text: str, track: bool = False) -> list[Normalized]:
    """The forms a text is matched in: without and with leet at word edges.

    Edge leet is ambiguous ("fr33" is "free", "mp3" is not "mpe"), so both forms are tried;
    the second form is left out when it is the same as the first.
    """
    result = forms(text, track)
    return [result.plain, result.edged] if result.edits else [result.plain]


def normalize(text: str) -> Normalized:
    """Steps 1-4 (runs of repeated letters are left for the matcher), with offsets."""
    return variants(text, track=True)[-1]
