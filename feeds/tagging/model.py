"""The learned topic model: a linear classifier per topic over TF-IDF word features, read from model.json.

``feeds train`` (:mod:`feeds.tagging.train`, with scikit-learn) fits it; reading and applying it needs
nothing but this module: the features of an article are its folded lower-case words (and, where the
file says so, word pairs and title words), weighted by their idf and scaled to unit length; a topic's
probability is the logistic of its intercept plus the dot product with its weights, summed over the
features present only (a sparse dot product).

Combination with the rules (the file's ``combine``): the model adds a topic the rules did not find when
its probability reaches the topic's threshold, or, with ``weak`` set, reaches ``weak`` for a topic the
rules found some evidence of but not enough (one ordinary term in the summary); with ``veto`` set, it
drops a topic the rules found when its probability is below ``veto``. Thresholds are chosen by
cross-validation on the development corpus (see :mod:`feeds.tagging.train`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import sub, truediv
from pathlib import Path

from feeds.tagging.gazetteer import TaggingDataError

FORMAT = "feeds topic model"
VERSION = 1


def features(head: Sequence[str], body: Sequence[str], *, pairs: bool, title_words: bool) -> list[str]:
    """The feature names of an article from the words of its title and its summary (folded lower case,
    as the tagger reads them: :meth:`feeds.tagging.match.Tagger.words`): each word, where the file
    says so each pair of neighbouring words ("general strike") and each title word ("title:strike")."""
    out = [*head, *body]
    if pairs:
        out += [f"{a} {b}" for part in (head, body) for a, b in zip(part, part[1:], strict=False)]
    if title_words:
        out += ["title:" + word for word in head]
    return [name for name in out if name]


@dataclass(frozen=True, slots=True)
class TopicModel:
    """A model.json, ready to apply."""

    path: Path
    slugs: tuple[str, ...]
    intercepts: tuple[float, ...]
    thresholds: tuple[float, ...]
    veto: float | None
    weak: float | None  # the threshold for a topic with some rule evidence, short of the rules' minimum
    pairs: bool
    title_words: bool
    # Per kind of feature (word, pair of words as a tuple, title word): idf squared for every feature (the
    # vector's length), and ((topic index, idf * weight), ...) for those with a non-zero weight.
    squares: tuple[dict, dict, dict]
    weights: tuple[dict, dict, dict]
    cuts: tuple[float, ...]  # the thresholds as logits
    gaps: tuple[float, ...]  # per topic, its threshold less its intercept (as logits)
    index: dict[str, int]  # slug: its position
    # For the fast path (words alone, no veto, every threshold above its intercept): per word of the
    # vocabulary, (idf squared, its rows of weights).
    fast: dict[str, tuple[float, tuple[tuple[int, float], ...]]] | None
    info: dict[str, object]

    @classmethod
    def read(cls, path: Path, known_topics: Iterable[str]) -> TopicModel:
        """Read and check a model.json; a malformed one is a :class:`TaggingDataError`."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TaggingDataError(path, None, f"cannot read the topic model: {exc}") from None
        try:
            return cls._parse(path, data, set(known_topics))
        except (KeyError, TypeError, ValueError) as exc:
            raise TaggingDataError(path, None, f"malformed topic model: {exc!r}") from None

    @classmethod
    def _parse(cls, path: Path, data: dict, known: set[str]) -> TopicModel:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise TaggingDataError(path, None, f'not a "{FORMAT}" version {VERSION} file')
        # a topic dropped from the taxonomy since the model was trained is left out of it
        topics = {slug: spec for slug, spec in data["topics"].items() if slug in known}
        slugs = tuple(topics)
        idf = {str(name): float(value) for name, value in data["idf"].items()}
        weights: dict[str, list[tuple[int, float]]] = {}
        for index, slug in enumerate(slugs):
            for name, weight in topics[slug]["weights"].items():
                weights.setdefault(name, []).append((index, idf[name] * float(weight)))
        thresholds = tuple(float(topics[slug]["threshold"]) for slug in slugs)
        combine = data["combine"]
        veto = combine.get("veto")
        weak = combine.get("weak")
        intercepts = tuple(float(topics[slug]["intercept"]) for slug in slugs)
        gaps = tuple(_logit(t) - b for t, b in zip(thresholds, intercepts, strict=True))
        pairs, title_words = bool(data["features"]["pairs"]), bool(data["features"]["title_words"])
        fast = None
        if veto is None and not (pairs or title_words) and all(gap > 0 for gap in gaps):
            fast = {name: (value * value, tuple(weights.get(name, ()))) for name, value in idf.items()}
        return cls(
            Path(path),
            slugs,
            intercepts,
            thresholds,
            None if veto is None else float(veto),
            None if weak is None else float(weak),
            pairs,
            title_words,
            _by_kind({name: value * value for name, value in idf.items()}),
            _by_kind({name: tuple(rows) for name, rows in weights.items()}),
            tuple(map(_logit, thresholds)),
            gaps,
            {slug: index for index, slug in enumerate(slugs)},
            fast,
            dict(data.get("trained", {})),
        )

    def probabilities(self, head: Sequence[str], body: Sequence[str]) -> dict[str, float]:
        """Each topic's probability for an article, from the words of its title and summary."""
        sums = self._sums(head, body)
        return {slug: 1 / (1 + math.exp(-z)) for slug, z in zip(self.slugs, sums, strict=True)}

    def _sums(self, head: Sequence[str], body: Sequence[str]) -> list[float]:
        # The words are the tagger's cached strings (their hashes are cached too): sets and dict look-ups
        # in C do nearly all the work.
        words, pairs, titles = self.squares
        names = set(head).union(body)
        squares = sum(map(words.get, names, repeat(0.0)))
        found = [(names, self.weights[0])]
        if self.pairs:
            both = set(zip(head, head[1:], strict=False)).union(zip(body, body[1:], strict=False))
            squares += sum(map(pairs.get, both, repeat(0.0)))
            found.append((both, self.weights[1]))
        if self.title_words:
            title = set(head)
            squares += sum(map(titles.get, title, repeat(0.0)))
            found.append((title, self.weights[2]))
        sums = list(self.intercepts)
        if squares:
            scale = 1 / math.sqrt(squares)
            for present, weights in found:
                for name in present & weights.keys():
                    for index, value in weights[name]:
                        sums[index] += value * scale
        return sums

    def combine(
        self, rule_topics: list[str], head: Iterable[str], body: Iterable[str], weak: Iterable[tuple[str, int]] = ()
    ) -> list[str]:
        """The topics after the model: the rules' topics it does not veto, and those it adds (probability
        >= the topic's threshold, or >= ``weak`` for a topic of ``weak``, the (slug, weight) of the topics
        the rules found too little evidence of)."""
        cuts = self._cuts(weak)
        if self.fast is not None:
            return self._add(rule_topics, head, body, cuts)
        sums = self._sums(list(head), list(body))
        out = rule_topics
        if self.veto is not None:
            veto = _logit(self.veto)
            logits = dict(zip(self.slugs, sums, strict=True))
            out = [slug for slug in rule_topics if logits.get(slug, veto) >= veto]
        added = [slug for slug, z, cut in zip(self.slugs, sums, cuts, strict=True) if z >= cut and slug not in out]
        return out + added if added else out

    def _cuts(self, weak: Iterable[tuple[str, int]]) -> Sequence[float]:
        """The thresholds (as logits) for one article: lower for its topics with weak rule evidence."""
        if self.weak is None or not weak:
            return self.cuts
        cuts = list(self.cuts)
        low = _logit(self.weak)
        for slug, _ in weak:
            index = self.index.get(slug)
            if index is not None and low < cuts[index]:
                cuts[index] = low
        return cuts

    def _add(
        self, rule_topics: list[str], head: Iterable[str], body: Iterable[str], cuts: Sequence[float]
    ) -> list[str]:
        """:meth:`combine` on the fast path (the shipped model): one look-up per word of the article gives
        both its weights and its part of the vector's length."""
        names = set(head)
        names.update(body)
        table = self.fast
        found = names & table.keys()
        if not found:
            return rule_topics
        sums = [0.0] * len(self.slugs)
        length = 0.0
        for name in found:
            square, rows = table[name]
            length += square
            for index, value in rows:
                sums[index] += value
        index = self.index
        for slug in rule_topics:  # found already
            if slug in index:
                sums[index[slug]] = 0.0
        # A topic passes when sum / length >= its gap (threshold less intercept, > 0): most articles
        # have none, which one division per topic in C tells.
        length = math.sqrt(length)
        gaps = self.gaps if cuts is self.cuts else list(map(sub, cuts, self.intercepts))
        if max(map(truediv, sums, gaps)) < length:
            return rule_topics
        slugs = self.slugs
        added = [slugs[n] for n, (value, gap) in enumerate(zip(sums, gaps, strict=True)) if value >= gap * length]
        return rule_topics + added if added else rule_topics


def _by_kind(table: dict[str, object]) -> tuple[dict, dict, dict]:
    """Split a table by feature name into words, pairs (as tuples of two words) and title words."""
    words: dict = {}
    pairs: dict = {}
    titles: dict = {}
    for name, value in table.items():
        if name.startswith("title:"):
            titles[name[6:]] = value
        elif " " in name:
            pairs[tuple(name.split(" ", 1))] = value
        else:
            words[name] = value
    return words, pairs, titles


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
