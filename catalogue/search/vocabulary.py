"""The words of a search as people type them: names and identifiers, abbreviations, synonyms, other languages.

Service names are written in many ways: X-13ARIMA-SEATS is typed `x13`, `x-13`, `X13ARIMA` or `x13 arima seats`;
JDemetra+ `jdemetra`; τ-ARGUS `tau argus`; sdcMicro `sdc micro`. `name_forms` turns a name into the forms the
index holds for it (each word folded to plain lower-case letters and digits, its pieces split at hyphens,
letter-digit and camel-case boundaries, and each word and the whole name run together), and `compact` folds what
a reader types the same way, so a typed word finds a name when it equals one of its forms or starts one.

The abbreviations, synonyms and translations a query is widened with are data (synonyms.yaml, beside this file).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import yaml
from whoosh.analysis import STOP_WORDS

from catalogue.resources import SYNONYMS_FILE

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "θ": "theta",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "µ": "mu",  # the micro sign, typed for μ
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_GREEK_LETTER = re.compile("[" + "".join(_GREEK) + "]")
_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_]+")
_CHUNK_SPLIT = re.compile(r"[\s()\[\]{},;:/|]+")
_NOT_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Text in lower case, Greek letters spelt out (τ → tau), accents dropped (é → e)."""
    text = _GREEK_LETTER.sub(lambda m: _GREEK[m.group(0)], text.casefold())
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@functools.lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """Text folded, with everything but letters and digits taken out: `X-13ARIMA` → `x13arima`. Cached: the
    words of the names shown are folded again for every page that highlights them."""
    return _NOT_ALNUM.sub("", fold(text))


def _pieces(chunk: str) -> list[str]:
    """The pieces of one written word: `sdcMicro` → sdc, micro; `X-13ARIMA-SEATS` → x, 13, arima, seats."""
    spelt = _GREEK_LETTER.sub(lambda m: " " + _GREEK[m.group(0)] + " ", chunk)
    return [fold(piece) for piece in _PIECE.findall(spelt)]


def looks_like_identifier(chunk: str) -> bool:
    """Whether a written word is a name rather than a dictionary word: it holds a digit, a capital after its first
    letter (RELAIS, sdcMicro, SDMX-RI), a Greek letter (τ-ARGUS) or a sign (JDemetra+, C#); a hyphen alone does not
    make one (hot-deck)."""
    letters = chunk.strip("-_.")
    return bool(
        re.search(r"\d", letters)
        or re.search(r".[A-Z]", letters)
        or _GREEK_LETTER.search(letters.casefold())
        or re.search(r"\w[+#]", letters)
    )


@functools.lru_cache(maxsize=65536)
def name_forms(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(forms, identifiers) of a name: every form the index holds for it, and those of its words that look like
    identifiers (auto-correction never replaces a typed word close to one of these). Cached: keywords repeat
    from service to service, and a rebuild asks for each of them again."""
    base = name.split("(")[0]
    chunks = [c for c in _CHUNK_SPLIT.split(name) if compact(c)]
    forms: list[str] = []
    identifiers: list[str] = []
    for chunk in chunks:
        forms.append(compact(chunk))
        forms.extend(_pieces(chunk))
        if looks_like_identifier(chunk):
            identifiers.append(compact(chunk))
    whole = compact(base)
    if whole and len([c for c in _CHUNK_SPLIT.split(base) if compact(c)]) > 1:
        forms.append(whole)
    return tuple(dict.fromkeys(f for f in forms if f)), tuple(dict.fromkeys(identifiers))


def whole_names(names: Iterable[str]) -> list[str]:
    """Each name run together (compact), and its parts before and inside parentheses: `btb (Beyond the Border)`
    gives btbbeyondtheborder, btb and beyondtheborder."""
    found: list[str] = []
    for name in names:
        found.append(compact(name))
        found += [compact(part) for part in re.split(r"[()]", name)]
    return list(dict.fromkeys(f for f in found if f))


# --- query text -------------------------------------------------------------------------------------------

_QUERY_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)')
_EDGE_PUNCTUATION = re.compile(r"^[^\w&+*?#]+|[^\w+*?#]+$")
_ELISION = re.compile(r"^(?:[dlnjcmst]|qu)['’]", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    """One piece of a query: a word as typed (edges of punctuation taken off) or a quoted phrase."""

    text: str
    quoted: bool = False

    @property
    def wildcard(self) -> bool:
        """Whether the word holds * or ? (a prefix or a pattern)."""
        return not self.quoted and ("*" in self.text or "?" in self.text)


def tokens(text: str) -> list[Token]:
    """The words and quoted phrases of a query, in order (French elisions such as d' taken off)."""
    found: list[Token] = []
    for match in _QUERY_TOKEN.finditer(text):
        if match.group("phrase") is not None:
            phrase = " ".join(match.group("phrase").split())
            if phrase:
                found.append(Token(phrase, quoted=True))
            continue
        for part in (
            re.split(r"['’](?=\w)", match.group("word")) if "'" in match.group("word") else [match.group("word")]
        ):
            word = _EDGE_PUNCTUATION.sub("", _ELISION.sub("", part))
            if word and len(part) > 1 or word.isalnum():
                found.append(Token(word))
    return [t for t in found if t.text]


@dataclass(frozen=True)
class Vocabulary:
    """Groups of equivalent phrases and the stop words of the languages a reader may type (synonyms.yaml)."""

    groups: tuple[tuple[str, ...], ...]
    stop_words: frozenset[str]

    @functools.cached_property
    def _index(self) -> dict[tuple[str, ...], int]:
        index: dict[tuple[str, ...], int] = {}
        for number, group in enumerate(self.groups):
            for phrase in group:
                index.setdefault(self.key(phrase), number)
        return index

    @functools.cached_property
    def longest(self) -> int:
        """The number of words of the longest phrase."""
        return max((len(key) for key in self._index), default=1)

    @staticmethod
    def key(phrase: str) -> tuple[str, ...]:
        """A phrase as the words it is looked up by (folded, elisions and punctuation taken off)."""
        return tuple(fold(t.text) for t in tokens(phrase))

    def is_stop_word(self, word: str) -> bool:
        """Whether word says nothing about a service (English, French, Spanish or German)."""
        folded = fold(word)
        return folded in STOP_WORDS or folded in self.stop_words

    def group_at(self, words: list[str], start: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest phrase of a group starting at words[start]: (number of words, the group), or None."""
        folded = [fold(w) for w in words]
        for length in range(min(self.longest, len(words) - start), 0, -1):
            number = self._index.get(tuple(folded[start : start + length]))
            if number is not None:
                return length, self.groups[number]
        return None


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary of synonyms.yaml (read once)."""
    data = yaml.safe_load(SYNONYMS_FILE.read_text("utf-8"))
    groups = tuple(tuple(str(p) for p in group) for group in data.get("groups", []))
    return Vocabulary(groups, frozenset(fold(str(w)) for w in data.get("stop_words", [])))


def forms_of(names: Iterable[str]) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """name_forms of each name."""
    for name in names:
        if name:
            yield name_forms(name)
