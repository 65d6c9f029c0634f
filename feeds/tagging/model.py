"""The learned topic model: a linear classifier per topic over TF-IDF word features, read from model.json.

``feeds train`` (:mod:`feeds.tagging.train`, with scikit-learn) fits it; reading and applying it needs
nothing but this module: the features of an article are its folded lower-case words (and, where the
file says so, word pairs and title words), weighted by their idf and scaled to unit length; a topic's
probability is the logistic of its intercept plus the dot product with its weights, summed over the
features present only (a sparse dot product).

Combination with the rules (the file's ``combine``): the model adds a topic the rules did not find when
its probability reaches the topic's threshold, and, with ``veto`` set, drops a topic the rules found
when its probability is below ``veto``. Thresholds are chosen by cross-validation on the development
corpus (see :mod:`feeds.tagging.train`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from feeds.slug import fold
from feeds.tagging.gazetteer import TaggingDataError

FORMAT = "feeds topic model"
VERSION = 1
_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Folded lower-case words of two letters or more."""
    return [word for word in _TOKEN.findall(fold(text).lower()) if len(word) > 1]


def features(title: str, summary: str, *, pairs: bool, title_words: bool) -> list[str]:
    """The feature names of an article (the same at training and at run time)."""
    head, body = tokens(title), tokens(summary)
    out = head + body
    if pairs:
        out += [f"{a} {b}" for a, b in zip(head, head[1:], strict=False)]
        out += [f"{a} {b}" for a, b in zip(body, body[1:], strict=False)]
    if title_words:
        out += ["title:" + word for word in head]
    return out


@dataclass(frozen=True, slots=True)
class TopicModel:
    """A model.json, ready to apply."""

    path: Path
    slugs: tuple[str, ...]
    intercepts: tuple[float, ...]
    thresholds: tuple[float, ...]
    veto: float | None
    pairs: bool
    title_words: bool
    # feature -> (idf, ((topic index, idf * weight), ...)): only the non-zero weights
    table: dict[str, tuple[float, tuple[tuple[int, float], ...]]]
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
        topics = data["topics"]
        unknown = sorted(set(topics) - known)
        if unknown:
            raise TaggingDataError(path, None, f"topics not in topics.toml: {', '.join(unknown)}")
        slugs = tuple(topics)
        idf = {str(name): float(value) for name, value in data["idf"].items()}
        weights: dict[str, list[tuple[int, float]]] = {}
        for index, slug in enumerate(slugs):
            for name, weight in topics[slug]["weights"].items():
                weights.setdefault(name, []).append((index, idf[name] * float(weight)))
        table = {name: (value, tuple(weights.get(name, ()))) for name, value in idf.items()}
        combine = data["combine"]
        veto = combine.get("veto")
        return cls(
            Path(path),
            slugs,
            tuple(float(topics[slug]["intercept"]) for slug in slugs),
            tuple(float(topics[slug]["threshold"]) for slug in slugs),
            None if veto is None else float(veto),
            bool(data["features"]["pairs"]),
            bool(data["features"]["title_words"]),
            table,
            dict(data.get("trained", {})),
        )

    def probabilities(self, title: str, summary: str) -> dict[str, float]:
        """Each topic's probability for this article."""
        sums = self._sums(title, summary)
        return {slug: 1 / (1 + math.exp(-z)) for slug, z in zip(self.slugs, sums, strict=True)}

    def _sums(self, title: str, summary: str) -> list[float]:
        table = self.table
        present = [
            table[name]
            for name in set(features(title, summary, pairs=self.pairs, title_words=self.title_words))
            if name in table
        ]
        sums = [0.0] * len(self.slugs)
        squares = 0.0
        for idf, weights in present:
            squares += idf * idf
            for index, value in weights:
                sums[index] += value
        scale = 1 / math.sqrt(squares) if squares else 0.0
        return [b + s * scale for b, s in zip(self.intercepts, sums, strict=True)]

    def combine(self, rule_topics: list[str], title: str, summary: str) -> list[str]:
        """The topics after the model: those it adds (probability >= the topic's threshold), and the
        rules' topics it does not veto."""
        sums = self._sums(title, summary)
        logits = {slug: z for slug, z in zip(self.slugs, sums, strict=True)}
        veto = self.veto
        out = [slug for slug in rule_topics if veto is None or slug not in logits or logits[slug] >= _logit(veto)]
        for slug, z, threshold in zip(self.slugs, sums, self.thresholds, strict=True):
            if z >= _logit(threshold) and slug not in out:
                out.append(slug)
        return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
