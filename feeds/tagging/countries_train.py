"""Fit the country model (countries_model.json) on the development corpus and the editor's corrections.

Needs scikit-learn; applying the model does not (:mod:`feeds.tagging.countries_model`). ``feeds train``
calls :func:`train` after fitting the topic model.

The examples are the candidates of every labelled article: each country the rules find or reject as a
passing mention, labelled by whether the article's gold countries hold it. Training on the rejected
mentions too teaches the model what passing context looks like beyond the rules' word lists. The
regularisation, the class weights, whether the rules' verdicts are features and the threshold are
chosen by k-fold cross-validated micro F1 of the article's countries after the combining rule (folds by
article, fixed: article n is in fold n mod k); the chosen model is then fitted on every example.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from feeds.tagging.countries_model import FORMAT, VERSION
from feeds.tagging.match import Tagger
from feeds.tagging.train import FOLDS, Example, folds

_GRID = {
    "C": (0.3, 1.0, 3.0, 10.0),
    "balanced": (False, True),
    "verdicts": (False, True),
    "rejected": (False, True),  # whether the candidates the rules reject are training examples too
}
_THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
_MIN_COUNT = 2  # a feature seen in fewer training candidates is left out
_PRUNE = 0.005


@dataclass(frozen=True)
class _Article:
    gold: frozenset[str]
    rules: tuple[str, ...]  # the rules' countries
    asked: bool  # whether the model is asked about them
    candidates: dict[str, list[str]]  # every country mentioned: its features


def _names(features: list[str], verdicts: bool) -> list[str]:
    return features if verdicts else [name for name in features if not name.startswith("rule:")]


def _fit(articles: list[_Article], config: dict) -> tuple[float, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MultiLabelBinarizer

    rows, target = [], []
    for article in articles:
        for code, names in article.candidates.items():
            if not config["rejected"] and code not in article.rules:
                continue
            rows.append(_names(names, config["verdicts"]))
            target.append(code in article.gold)
    seen: dict[str, int] = {}
    for row in rows:
        for name in row:
            seen[name] = seen.get(name, 0) + 1
    vocabulary = sorted(name for name, n in seen.items() if n >= _MIN_COUNT)
    binarizer = MultiLabelBinarizer(classes=vocabulary, sparse_output=True)
    import warnings

    with warnings.catch_warnings():  # features seen once are left out on purpose
        warnings.simplefilter("ignore", UserWarning)
        matrix = binarizer.fit_transform(rows)
    model = LogisticRegression(
        C=config["C"],
        class_weight="balanced" if config["balanced"] else None,
        solver="liblinear",
        max_iter=1000,
        random_state=0,
    )
    model.fit(matrix, target)
    weights = {name: float(w) for name, w in zip(vocabulary, model.coef_[0], strict=True) if abs(w) >= _PRUNE}
    return float(model.intercept_[0]), weights


def _decide(article: _Article, scores: dict[str, float], threshold: float) -> set[str]:
    """The combining rule: the rules' countries, less those the model (where asked) scores below the threshold."""
    if not article.asked:
        return set(article.rules)
    return {code for code in article.rules if scores[code] >= threshold}


def _score(intercept: float, weights: dict[str, float], names: list[str]) -> float:
    z = intercept + sum(weights.get(name, 0.0) for name in names)
    return 1 / (1 + math.exp(-z))


def _held_out(articles: list[_Article], config: dict) -> list[dict[str, float]]:
    """Each article's candidate probabilities from the model fitted on the other folds."""
    out: list[dict[str, float]] = [{} for _ in articles]
    for fold in folds(len(articles)):
        held = set(fold)
        intercept, weights = _fit([a for n, a in enumerate(articles) if n not in held], config)
        for n in fold:
            out[n] = {
                code: _score(intercept, weights, _names(names, config["verdicts"]))
                for code, names in articles[n].candidates.items()
            }
    return out


def _counts(articles: list[_Article], found: list[set[str]]) -> dict[str, float]:
    tp = sum(len(a.gold & f) for a, f in zip(articles, found, strict=True))
    fp = sum(len(f - a.gold) for a, f in zip(articles, found, strict=True))
    fn = sum(len(a.gold - f) for a, f in zip(articles, found, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def train(examples: list[Example], rules_tagger: Tagger) -> tuple[dict, dict]:
    """The model file's content and a summary: examples, the chosen settings, cross-validated precision,
    recall and F1 of the countries of the rules alone and of rules and model combined."""
    articles = []
    for example in examples:
        rules, asked, candidates = rules_tagger.country_candidates(example.title, example.summary)
        articles.append(_Article(example.labels, rules, asked, candidates))
    rules_alone = _counts(articles, [set(a.rules) for a in articles])
    best: tuple[float, dict, float, dict] | None = None
    for values in itertools.product(*_GRID.values()):
        config = dict(zip(_GRID, values, strict=True))
        scores = _held_out(articles, config)
        for threshold in _THRESHOLDS:
            result = _counts(articles, [_decide(a, s, threshold) for a, s in zip(articles, scores, strict=True)])
            if best is None or result["f1"] > best[0] + 1e-9:
                best = (result["f1"], config, threshold, result)
    assert best is not None
    _, config, threshold, combined = best
    intercept, weights = _fit(articles, config)
    summary = {
        "examples": len(examples),
        "from_corpus": sum(e.origin == "corpus" for e in examples),
        "from_listing": sum(e.origin == "listing" for e in examples),
        "candidates": sum(len(a.candidates) for a in articles),
        "asked": sum(a.asked for a in articles),
        "folds": FOLDS,
        "settings": dict(config),
        "threshold": threshold,
        "cv": {"rules": rules_alone, "combined": combined},
    }
    document = {
        "format": FORMAT,
        "version": VERSION,
        "trained": summary,
        "combine": {
            "rule": "the rules' countries, less those the model scores below threshold where it is asked "
            "(more than one country, or one not kept from the title)",
            "threshold": threshold,
        },
        "intercept": round(intercept, 4),
        "weights": {name: round(w, 4) for name, w in sorted(weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))},
    }
    return document, summary


def write(document: dict, path: Path) -> None:
    from feeds.files import write_atomic

    write_atomic(Path(path), (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
