"""``feeds train``: fit the topic model (model.json) on the development corpus and the editor's corrections.

Needs scikit-learn (``pip install 'feeds[train]'``); applying the model does not (:mod:`feeds.tagging.model`).

The examples are the articles of the development corpus and every article of the listing that carries a
``@topics`` or ``@countries`` line (an editor looked at it: its topics after the overrides are its labels).
The test corpus is never read here.

Features (words alone or with word pairs, title words marked or not), the regularisation and the
combination with the rules (the model's threshold for adding a topic, and whether it may veto a rule's
topic) are chosen by k-fold cross-validated micro F1 of the combined topics; the chosen model is then fitted
on every example. Everything is deterministic: the folds are fixed, liblinear is seeded.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from feeds.tagging.match import Tagger
from feeds.tagging.model import FORMAT, VERSION, features

FOLDS = 5
# L1 keeps few non-zero weights: the run-time dot product stays a few dozen additions an article.
_GRID = {"pairs": (False, True), "title_words": (False, True), "C": (2.0, 4.0, 8.0), "balanced": (False, True)}
# A configuration without word pairs or title words (the model's fast path: only the topics an article's words
# weigh on are computed) wins unless it is this much worse.
_SIMPLER = 0.003
_THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
_VETOES = (None, 0.02, 0.05, 0.1)
_PRUNE = 0.01  # weights smaller than this are left out of the file: the same tags, a smaller file


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    topics: frozenset[str]
    origin: str  # "corpus" or "listing"


def examples_of(corpus: Sequence[dict], listing: Sequence[tuple[str, str, Sequence[str]]]) -> list[Example]:
    """Labelled articles of the corpus, then the listing's corrected articles (title, summary, topics)."""
    out = [
        Example(str(a["title"]), str(a.get("summary", "")), frozenset(map(str, a.get("topics", []))), "corpus")
        for a in corpus
    ]
    out += [Example(title, summary, frozenset(topics), "listing") for title, summary, topics in listing]
    return out


def _folds(count: int) -> list[list[int]]:
    return [[n for n in range(count) if n % FOLDS == k] for k in range(FOLDS)]


def _f1(gold: list[frozenset[str]], found: list[set[str]]) -> float:
    tp = sum(len(g & f) for g, f in zip(gold, found, strict=True))
    fp = sum(len(f - g) for g, f in zip(gold, found, strict=True))
    fn = sum(len(g - f) for g, f in zip(gold, found, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _fit(docs: list[tuple[str, str]], labels: list[frozenset[str]], slugs: list[str], config: dict):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def analyse(doc: tuple[list[str], list[str]]) -> list[str]:
        return features(*doc, pairs=config["pairs"], title_words=config["title_words"])

    vectorizer = TfidfVectorizer(analyzer=analyse, binary=True, min_df=2, norm="l2", lowercase=False)
    matrix = vectorizer.fit_transform(docs)
    models = {}
    for slug in slugs:
        target = [slug in label for label in labels]
        if any(target) and not all(target):
            model = LogisticRegression(
                C=config["C"],
                l1_ratio=1.0,
                class_weight="balanced" if config["balanced"] else None,
                solver="liblinear",
                max_iter=1000,
                random_state=0,
            )
            with warnings.catch_warnings():  # a topic with few examples: the fit is still usable
                warnings.simplefilter("ignore", ConvergenceWarning)
                models[slug] = model.fit(matrix, target)
    return vectorizer, models


def _probabilities(vectorizer, models, docs: list[tuple[str, str]]) -> list[dict[str, float]]:
    matrix = vectorizer.transform(docs)
    columns = {slug: model.predict_proba(matrix)[:, 1] for slug, model in models.items()}
    return [{slug: float(column[n]) for slug, column in columns.items()} for n in range(len(docs))]


def _combine(rules: set[str], scores: dict[str, float], threshold: float, veto: float | None) -> set[str]:
    kept = {slug for slug in rules if veto is None or scores.get(slug, 1.0) >= veto}
    return kept | {slug for slug, p in scores.items() if p >= threshold}


def _held_out(docs: list, gold: list[frozenset[str]], slugs: list[str], config: dict) -> list[dict[str, float]]:
    """Each example's topic probabilities from the model fitted on the other folds."""
    scores: list[dict[str, float]] = [{} for _ in docs]
    for fold in _folds(len(docs)):
        held = set(fold)
        train_at = [n for n in range(len(docs)) if n not in held]
        vectorizer, models = _fit([docs[n] for n in train_at], [gold[n] for n in train_at], slugs, config)
        for n, found in zip(fold, _probabilities(vectorizer, models, [docs[n] for n in fold]), strict=True):
            scores[n] = found
    return scores


def _cost(config: dict) -> int:
    """How much slower a configuration is to apply: word pairs, title words (each leaves the fast path)."""
    return 2 * config["pairs"] + config["title_words"]


def train(examples: list[Example], rules_tagger: Tagger) -> tuple[dict, dict]:
    """The model file's content and a summary: examples, the chosen settings, cross-validated F1 of
    the rules, the model and their combination."""
    slugs = [topic.slug for topic in rules_tagger.topics]
    gold = [e.topics for e in examples]
    rules = [set(rules_tagger.tag(e.title, e.summary).topics) for e in examples]
    docs = [(rules_tagger.lows(e.title), rules_tagger.lows(e.summary)) for e in examples]
    best: tuple[float, dict, float, float | None, float] | None = None
    for values in itertools.product(*_GRID.values()):
        config = dict(zip(_GRID, values, strict=True))
        scores = _held_out(docs, gold, slugs, config)
        alone = _f1(gold, [{s for s, p in found.items() if p >= 0.5} for found in scores])
        for threshold, veto in itertools.product(_THRESHOLDS, _VETOES):
            f1 = _f1(gold, [_combine(r, s, threshold, veto) for r, s in zip(rules, scores, strict=True)])
            if best is None or f1 > best[0] + (_SIMPLER if _cost(config) > _cost(best[1]) else 1e-9):
                best = (f1, config, threshold, veto, alone)
    assert best is not None
    f1, config, threshold, veto, alone = best
    vectorizer, models = _fit(docs, gold, slugs, config)
    summary = {
        "examples": len(examples),
        "from_corpus": sum(e.origin == "corpus" for e in examples),
        "from_listing": sum(e.origin == "listing" for e in examples),
        "folds": FOLDS,
        "features": dict(config),
        "combine": {"threshold": threshold, "veto": veto},
        "cv_f1": {"rules": round(_f1(gold, rules), 4), "model": round(alone, 4), "combined": round(f1, 4)},
    }
    return _document(vectorizer, models, slugs, config, threshold, veto, summary), summary


def _document(vectorizer, models, slugs, config, threshold, veto, summary) -> dict:
    names = vectorizer.get_feature_names_out()
    topics = {}
    used: set[int] = set()
    for slug in slugs:
        if slug not in models:
            continue
        model = models[slug]
        row = model.coef_[0]
        kept = {int(i): round(float(row[i]), 4) for i in range(len(row)) if abs(row[i]) >= _PRUNE}
        used.update(kept)
        topics[slug] = {
            "intercept": round(float(model.intercept_[0]), 4),
            "threshold": threshold,
            "weights": {str(names[i]): w for i, w in sorted(kept.items(), key=lambda kv: (-abs(kv[1]), kv[0]))},
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "trained": summary,
        "features": {"pairs": config["pairs"], "title_words": config["title_words"], "min_df": 2},
        "combine": {
            "rule": "rules, plus a topic the model gives p >= its threshold, less a rule topic below veto",
            "veto": veto,
        },
        "idf": {str(names[i]): round(float(vectorizer.idf_[i]), 4) for i in range(len(names))},
        "topics": topics,
    }


def write(document: dict, path: Path) -> None:
    from feeds.files import write_atomic

    write_atomic(Path(path), (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
