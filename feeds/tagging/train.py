"""``feeds train``: fit the topic model (model.json) on the development corpus and the editor's corrections.

Needs scikit-learn (``pip install 'feeds[train]'``); applying the model does not (:mod:`feeds.tagging.model`).

The examples are the articles of the development corpus and every article of the listing that carries a
``@topics`` or ``@countries`` line (an editor looked at it: its topics after the overrides are its labels).
The test corpus is never read here.

Features (words alone or with word pairs, title words marked or not), the regularisation (L1 or L2 and
its strength) and the combination with the rules (the model's threshold for adding a topic, a lower one for a
topic the rules found some evidence of, and whether it may veto a rule's topic) are chosen by k-fold
cross-validated micro F1 of the combined topics; the chosen model is then fitted on every example.
Everything is deterministic: the folds are fixed, liblinear is seeded.
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
# (penalty, C, the smallest weight kept in the file). L1 keeps few non-zero weights; L2 spreads the weight
# over the words of a topic and scores better, and its weights below 2 are left out (the cross-validation
# scores the model without them): the run-time dot product stays a few dozen additions an article.
_REGULARISATION = (("l1", 4.0, 0.01), ("l1", 8.0, 0.01), ("l2", 32.0, 2.0), ("l2", 64.0, 2.0), ("l2", 128.0, 2.0))
_GRID = {"pairs": (False, True), "title_words": (False, True), "regularisation": _REGULARISATION}
# A configuration without word pairs, title words or a veto (the model's fast path: only the topics an
# article's words weigh on are computed) wins unless it is this much worse. Measured on 2,035 articles: word
# pairs and a veto together won by 0.003 and took tagging from 54 to 75 us an article, over its budget of 60.
_SIMPLER = 0.01
_THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
_VETOES = (None, 0.02, 0.05, 0.1)
# The threshold for a topic the rules found too little evidence of (one ordinary term in the summary).
_WEAK = (None, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    labels: frozenset[str]  # the gold topics, or countries
    origin: str  # "corpus" or "listing"


def examples_of(
    corpus: Sequence[dict], listing: Sequence[tuple[str, str, Sequence[str]]], key: str = "topics"
) -> list[Example]:
    """Labelled articles of the corpus, then the listing's corrected articles (title, summary, labels):
    ``key`` names the labels, ``topics`` or ``countries``."""
    out = [
        Example(str(a["title"]), str(a.get("summary", "")), frozenset(map(str, a.get(key, []))), "corpus")
        for a in corpus
    ]
    out += [Example(title, summary, frozenset(labels), "listing") for title, summary, labels in listing]
    return out


def folds(count: int) -> list[list[int]]:
    return [[n for n in range(count) if n % FOLDS == k] for k in range(FOLDS)]


def _f1(gold: list[frozenset[str]], found: list[set[str]]) -> float:
    tp = sum(len(g & f) for g, f in zip(gold, found, strict=True))
    fp = sum(len(f - g) for g, f in zip(gold, found, strict=True))
    fn = sum(len(g - f) for g, f in zip(gold, found, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _fit(docs: list[tuple[str, str]], labels: list[frozenset[str]], slugs: list[str], config: dict):
    """The vectorizer and, per topic, a logistic regression with its small weights set to zero, fitted
    twice: the second time over the words that kept a weight in the first. The words no topic weighs on
    leave the vocabulary (and the vector's length): the file is half the size and applying it faster."""
    vectorizer, models = _fit_over(docs, labels, slugs, config, None)
    names = vectorizer.get_feature_names_out()
    kept = sorted({str(names[i]) for model in models.values() for i in model.coef_[0].nonzero()[0]})
    return _fit_over(docs, labels, slugs, config, kept or None)


def _fit_over(docs, labels, slugs, config, vocabulary: list[str] | None):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def analyse(doc: tuple[list[str], list[str]]) -> list[str]:
        return features(*doc, pairs=config["pairs"], title_words=config["title_words"])

    vectorizer = TfidfVectorizer(
        analyzer=analyse, binary=True, min_df=2, norm="l2", lowercase=False, vocabulary=vocabulary
    )
    matrix = vectorizer.fit_transform(docs)
    models = {}
    for slug in slugs:
        target = [slug in label for label in labels]
        if any(target) and not all(target):
            model = LogisticRegression(
                C=config["C"],
                l1_ratio=1.0 if config["penalty"] == "l1" else 0.0,
                solver="liblinear",
                max_iter=1000,
                random_state=0,
            )
            with warnings.catch_warnings():  # a topic with few examples: the fit is still usable
                warnings.simplefilter("ignore", ConvergenceWarning)
                models[slug] = model.fit(matrix, target)
            model.coef_[abs(model.coef_) < config["prune"]] = 0.0
    return vectorizer, models


def _probabilities(vectorizer, models, docs: list[tuple[str, str]]) -> list[dict[str, float]]:
    matrix = vectorizer.transform(docs)
    columns = {slug: model.predict_proba(matrix)[:, 1] for slug, model in models.items()}
    return [{slug: float(column[n]) for slug, column in columns.items()} for n in range(len(docs))]


def _held_out(docs: list, gold: list[frozenset[str]], slugs: list[str], config: dict) -> list[dict[str, float]]:
    """Each example's topic probabilities from the model fitted on the other folds."""
    scores: list[dict[str, float]] = [{} for _ in docs]
    for fold in folds(len(docs)):
        held = set(fold)
        train_at = [n for n in range(len(docs)) if n not in held]
        vectorizer, models = _fit([docs[n] for n in train_at], [gold[n] for n in train_at], slugs, config)
        for n, found in zip(fold, _probabilities(vectorizer, models, [docs[n] for n in fold]), strict=True):
            scores[n] = found
    return scores


def _cost(config: dict) -> int:
    """How much slower a configuration is to apply: word pairs, title words (each leaves the fast path)."""
    return 2 * config["pairs"] + config["title_words"]


def _search(gold, rules, weak, scores: list[dict[str, float]], slugs: list[str]):
    """The best (F1, threshold, veto, weak threshold) of the combination, over held-out probabilities."""
    import numpy as np

    def matrix(sets) -> np.ndarray:
        return np.array([[slug in found for slug in slugs] for found in sets], dtype=bool)

    truth, by_rules, short = matrix(gold), matrix(rules), matrix(weak)
    p = np.array([[found.get(slug, 0.0) for slug in slugs] for found in scores])
    best: dict[bool, tuple] = {}  # with a veto or not: the best (F1, threshold, veto, weak threshold)
    for threshold, veto, low in itertools.product(_THRESHOLDS, _VETOES, _WEAK):
        kept = by_rules if veto is None else by_rules & (p >= veto)
        found = kept | (p >= threshold)
        if low is not None:
            found |= short & (p >= low)
        tp = int((found & truth).sum())
        f1 = 2 * tp / (int(found.sum()) + int(truth.sum())) if tp else 0.0
        kind = veto is not None
        if kind not in best or f1 > best[kind][0] + 1e-9:
            best[kind] = (f1, threshold, veto, low)
    # a veto leaves the model's fast path (every topic is computed): it must win by a margin
    return best[True] if best[True][0] > best[False][0] + _SIMPLER else best[False]


def train(examples: list[Example], rules_tagger: Tagger) -> tuple[dict, dict]:
    """The model file's content and a summary: examples, the chosen settings, cross-validated F1 of
    the rules, the model and their combination."""
    slugs = [topic.slug for topic in rules_tagger.topics]
    gold = [e.labels for e in examples]
    tags = [rules_tagger.tag(e.title, e.summary) for e in examples]
    rules = [set(t.topics) for t in tags]
    weak = [{slug for slug, _ in t.weak} for t in tags]
    docs = [(rules_tagger.lows(e.title), rules_tagger.lows(e.summary)) for e in examples]
    best: tuple[float, dict, float, float | None, float | None, float] | None = None
    for pairs, title_words, (penalty, c, prune) in itertools.product(*_GRID.values()):
        config = {"pairs": pairs, "title_words": title_words, "penalty": penalty, "C": c, "prune": prune}
        scores = _held_out(docs, gold, slugs, config)
        alone = _f1(gold, [{s for s, p in found.items() if p >= 0.5} for found in scores])
        f1, threshold, veto, low = _search(gold, rules, weak, scores, slugs)
        if best is None or f1 > best[0] + (_SIMPLER if _cost(config) > _cost(best[1]) else 1e-9):
            best = (f1, config, threshold, veto, low, alone)
    assert best is not None
    f1, config, threshold, veto, low, alone = best
    vectorizer, models = _fit(docs, gold, slugs, config)
    summary = {
        "examples": len(examples),
        "from_corpus": sum(e.origin == "corpus" for e in examples),
        "from_listing": sum(e.origin == "listing" for e in examples),
        "folds": FOLDS,
        "features": dict(config),
        "combine": {"threshold": threshold, "veto": veto, "weak": low},
        "cv_f1": {"rules": round(_f1(gold, rules), 4), "model": round(alone, 4), "combined": round(f1, 4)},
    }
    return _document(vectorizer, models, slugs, config, threshold, veto, low, summary), summary


def _document(vectorizer, models, slugs, config, threshold, veto, weak, summary) -> dict:
    names = vectorizer.get_feature_names_out()
    topics = {}
    used: set[int] = set()
    for slug in slugs:
        if slug not in models:
            continue
        model = models[slug]
        row = model.coef_[0]
        kept = {int(i): round(float(row[i]), 4) for i in range(len(row)) if row[i]}
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
            "rule": "rules, plus a topic the model gives p >= its threshold (p >= weak where the rules found"
            " too little evidence of it), less a rule topic below veto",
            "veto": veto,
            "weak": weak,
        },
        "idf": {str(names[i]): round(float(vectorizer.idf_[i]), 4) for i in range(len(names))},
        "topics": topics,
    }


def write(document: dict, path: Path) -> None:
    from feeds.files import write_atomic

    write_atomic(Path(path), (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
