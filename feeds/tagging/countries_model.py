"""The learned country model: a logistic regression over the features of each country the rules find,
read from countries_model.json.

The rules (:mod:`feeds.tagging.match`) name the candidate countries of an article; most passing
mentions are caught by their word lists, but not all ("smuggling to neighbouring states", a rival
named for context). The model looks at each candidate as a whole: where it is named (the title, the
title's "Country:" prefix, only the summary, how far in), how often against the other candidates, by
what kind of phrase (a name, a demonym, a city, a leader, a party, an employer) and the words around
each mention ("border", "from", "-born", "'s", "than").

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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from feeds.tagging.gazetteer import TaggingDataError

FORMAT = "feeds country model"
VERSION = 1
#: The words each side of a mention that are features.
WINDOW = 4

# A mention: (code, field, index of its first word in the field's words, number of words, the
# countries.toml field of the phrase, the rules' verdict: "" kept, "passing", "alone").
Mention = tuple[str, str, int, int, str, str]


def features(code: str, mentions: Sequence[Mention], words: dict[str, list[tuple[str, str, str, str]]]) -> list[str]:
    """The features of one candidate country from every country mention of the article (in the order
    read: title, then summary) and the words of both fields (:meth:`feeds.tagging.match.Tagger.words`)."""
    counts: dict[str, int] = {}
    for mention in mentions:
        counts[mention[0]] = counts.get(mention[0], 0) + 1
    mine = [mention for mention in mentions if mention[0] == code]
    count = counts.get(code, 0)
    out = {f"mentions:{min(count, 3)}", f"candidates:{min(len(counts), 4)}"}
    in_title = any(mention[1] == "title" for mention in mine)
    out.add("in:title" if in_title else "only:summary")
    if not in_title and any(mention[1] == "title" for mention in mentions):
        out.add("other:title")
    top = max(counts.values(), default=0)
    if count == top:
        out.add("most" if sum(1 for n in counts.values() if n == top) == 1 else "most:shared")
    if mentions and mentions[0][0] == code:
        out.add("first")
    for _, field, index, size, kind, verdict in mine:
        out.add("kind:" + (kind or "other"))
        if verdict:
            out.add("rule:" + verdict)
        text = words[field]
        before = text[index - 1][0] if index else "<s>"
        after = text[index + size][0] if index + size < len(text) else "<e>"
        before = before or "<b>"  # a barrier: punctuation
        after = after or "<b>"
        if field == "title":
            if index == 0 and after == "<b>":
                out.add("title:prefix")  # "Peru: ..."
            elif index <= 2:
                out.add("title:start")
        else:
            out.add(f"at:{0 if index < 5 else 1 if index < 15 else 2 if index < 30 else 3}")
        separator = text[index + size - 1][3].strip()
        if separator.startswith("-"):
            out.add("hyphen:" + after)  # "Chinese-owned"
        elif separator[:1] == "'" or separator[:1] == "’":
            out.add("possessive")  # "Egypt's"
        out.add("before:" + before)
        out.add("after:" + after)
        if index > 1:
            out.add(f"before2:{text[index - 2][0] or '<b>'} {before}")
        for near in text[max(0, index - WINDOW) : index] + text[index + size : index + size + WINDOW]:
            if near[0]:
                out.add("near:" + near[0])
    return sorted(out)


@dataclass(frozen=True, slots=True)
class CountryModel:
    """A countries_model.json, ready to apply."""

    path: Path
    intercept: float
    weights: dict[str, float]
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
                {str(name): float(weight) for name, weight in data["weights"].items()},
                threshold,
                _logit(threshold),
                dict(data.get("trained", {})),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise TaggingDataError(path, None, f"malformed country model: {exc!r}") from None

    def logit(self, names: Sequence[str]) -> float:
        get = self.weights.get
        return self.intercept + sum(get(name, 0.0) for name in names)

    def probability(self, names: Sequence[str]) -> float:
        """The probability that a candidate with these features is a country of the article."""
        return 1 / (1 + math.exp(-self.logit(names)))

    def keeps(self, names: Sequence[str]) -> bool:
        return self.logit(names) >= self.cut


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
