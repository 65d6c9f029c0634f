"""The learned country model: a logistic regression over the features of each country the rules find,
read from countries_model.json.

The rules (:mod:`feeds.tagging.match`) name the candidate countries of an article; most passing
mentions are caught by their word lists, but not all ("smuggling to neighbouring states", a rival
named for context). The model looks at each candidate as a whole: where it is named (the title, the
title's "Country:" prefix, only the summary, how far in), how often against the other candidates, by
what kind of phrase (a name, a demonym, a city, a leader, a party, an employer) and the words around
each mention ("from", "to", "-born", "'s", "than"). (Wider windows of words, and pairs of words, were
tried and not chosen: they scored lower in cross-validation and cost more.)

Combining rule: a country the rules keep stays unless the model gives it a probability below the
file's ``threshold``. The model is asked only about articles with more than one candidate country or
with a country named only in the summary: a country alone in the title is the story's, and most
articles are that (nothing is computed for them). ``feeds train`` (:mod:`feeds.tagging.countries_train`,
with scikit-learn) fits the weights and chooses the threshold by cross-validated F1 on the development
corpus; applying the file needs only this module: a sum of the weights of the features present.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from feeds.tagging.gazetteer import TaggingDataError

FORMAT = "feeds country model"
VERSION = 1
# A mention: (code, field, its position: tokens before it in the field plus words before it in its
# token, the word before it, the word after it ("<b>" punctuation, "<s>" and "<e>" the field's start
# and end), the separator after its last word ("-" in "Chinese-owned", "'s " in "Egypt's"), the
# countries.toml field of the phrase, the rules' verdict: "" kept, "passing", "alone").
Mention = tuple[str, str, int, str, str, str, str, str]
Key = str | tuple[str, ...]


def features(mentions: Sequence[Mention]) -> dict[str, set[Key]]:
    """The features of each country mentioned, from every country mention of the article (in the order
    read: title, then summary). A feature is a name ("in:title") or, for those that hold words, a tuple
    ("before", "from"); see :func:`name`. Tuples of words already read cost less than new strings."""
    counts: dict[str, int] = {}
    out: dict[str, set[Key]] = {}
    titled = set()
    for code, field, position, before, after, separator, kind, verdict in mentions:
        counts[code] = counts.get(code, 0) + 1
        names = out.get(code)
        if names is None:
            names = out[code] = set()
        names.add(("kind", kind))
        if verdict:
            names.add(("rule", verdict))
        if field == "title":
            titled.add(code)
            if position == 0 and after == "<b>":
                names.add("title:prefix")  # "Peru: ..."
            elif position <= 2:
                names.add("title:start")
        else:
            names.add("at:0" if position < 5 else "at:1" if position < 15 else "at:2" if position < 30 else "at:3")
        if separator[0] == "-":
            names.add(("hyphen", after))  # "Chinese-owned"
        elif separator[0] in "'’":
            names.add("possessive")  # "Egypt's"
        names.add(("before", before))
        names.add(("after", after))
        names.add(("kind+before", kind, before))  # "in Doha" (a city: a venue?) is not "in Qatar"
    top = max(counts.values(), default=0)
    most = "most" if sum(1 for n in counts.values() if n == top) == 1 else "most:shared"
    candidates = f"candidates:{min(len(counts), 4)}"
    first = mentions[0][0] if mentions else ""
    for code, names in out.items():
        count = counts[code]
        names.add(_MENTIONS[min(count, 3)])
        names.add(candidates)
        if code in titled:
            names.add("in:title")
        else:
            names.add("only:summary")
            if titled:
                names.add("other:title")
        if count == top:
            names.add(most)
        if code == first:
            names.add("first")
    return out


_MENTIONS = ("mentions:0", "mentions:1", "mentions:2", "mentions:3")
_WORDS = frozenset(("kind", "rule", "hyphen", "before", "after", "kind+before"))


def name(key: Key) -> str:
    """A feature's name as the file has it: "in:title", "before:from", "kind+before:cities|in"."""
    return key if isinstance(key, str) else f"{key[0]}:{'|'.join(key[1:])}"


def key(name: str) -> Key:
    """The feature of a name (the inverse of :func:`name`)."""
    group, _, rest = name.partition(":")
    return (group, *rest.split("|")) if group in _WORDS else name


@dataclass(frozen=True, slots=True)
class CountryModel:
    """A countries_model.json, ready to apply."""

    path: Path
    intercept: float
    weights: dict[Key, float]
    threshold: float
    cut: float  # the threshold as a logit
    info: dict[str, object]

    @classmethod
    def read(cls, path: Path) -> CountryModel:
        """Read and check a countries_model.json; a malformed one is a :class:`TaggingDataError`."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TaggingDataError(path, None, f"cannot read the country model: {exc}") from None
        try:
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                raise TaggingDataError(path, None, f'not a "{FORMAT}" version {VERSION} file')
            threshold = float(data["combine"]["threshold"])
            return cls(
                Path(path),
                float(data["intercept"]),
                {key(str(name)): float(weight) for name, weight in data["weights"].items()},
                threshold,
                _logit(threshold),
                dict(data.get("trained", {})),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise TaggingDataError(path, None, f"malformed country model: {exc!r}") from None

    def logit(self, names: Iterable[Key]) -> float:
        return self.intercept + sum(map(self.weights.get, names, repeat(0.0)))

    def probability(self, names: Iterable[Key]) -> float:
        """The probability that a candidate with these features is a country of the article."""
        return 1 / (1 + math.exp(-self.logit(names)))

    def keeps(self, names: Iterable[Key]) -> bool:
        return self.logit(names) >= self.cut


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
