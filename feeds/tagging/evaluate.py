"""Evaluate the tagger on the labelled corpus: micro precision, recall and F1, per topic, the confusions
and every miss.

A labelled file is a TOML file of ``[[article]]`` tables with ``title``, ``summary``, gold ``countries``
(alpha-2 codes) and gold ``topics`` (slugs), and optional ``style`` and ``note`` (see corpus/README.md).
The corpus has a development part (dev.toml: tables and model are tuned on it) and a test part
(test.toml: only measured)::

    feeds evaluate --part dev|test|all
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from feeds.tagging.match import Tagger, TaggingDataError

CORPUS = Path(__file__).resolve().parent / "corpus"
PARTS = {"dev": ("dev.toml",), "test": ("test.toml",), "all": ("dev.toml", "test.toml")}


@dataclass(frozen=True)
class Score:
    """Micro-averaged counts and scores for one kind of tag."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Miss:
    """The differences between the tagger and the gold labels on one article."""

    title: str
    kind: str  # "countries" or "topics"
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """Result of :func:`evaluate`."""

    articles: int
    countries: Score
    topics: Score
    misses: tuple[Miss, ...]
    per_topic: tuple[tuple[str, Score], ...] = ()
    #: (gold topic that was missed, topic found instead in the same article): how often
    confusions: tuple[tuple[tuple[str, str], int], ...] = ()


def _labelled(path: Path) -> list[dict[str, object]]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaggingDataError(path, None, f"cannot read the labelled set: {exc}") from None
    articles = data.get("article", [])
    for number, article in enumerate(articles, 1):
        if not isinstance(article.get("title"), str) or not isinstance(article.get("summary", ""), str):
            raise TaggingDataError(path, None, f"article #{number} needs a title and a summary")
        for key in ("countries", "topics"):
            if not isinstance(article.get(key, []), list):
                raise TaggingDataError(path, None, f"article #{number}: {key} must be a list")
    return articles


def labelled_articles(part: str, corpus: Path = CORPUS) -> list[dict[str, object]]:
    """The articles of one part of the corpus (``dev``, ``test`` or ``all``)."""
    out: list[dict[str, object]] = []
    for name in PARTS[part]:
        path = Path(corpus) / name
        if path.is_file() or part != "all":
            out += _labelled(path)
    return out


def evaluate(tagger: Tagger, labelled: Path | list[dict[str, object]]) -> Report:
    """Tag every labelled article (a file, or articles already read) and compare with its gold labels."""
    counts = {"countries": [0, 0, 0], "topics": [0, 0, 0]}
    per_topic = {topic.slug: [0, 0, 0] for topic in tagger.topics}
    confusions: Counter[tuple[str, str]] = Counter()
    misses: list[Miss] = []
    articles = labelled if isinstance(labelled, list) else _labelled(Path(labelled))
    for article in articles:
        title = str(article["title"])
        tags = tagger.tag(title, str(article.get("summary", "")))
        for kind, found in (("countries", tags.countries), ("topics", tags.topics)):
            gold = {str(value) for value in article.get(kind, [])}  # type: ignore[union-attr]
            got = set(found)
            counts[kind][0] += len(got & gold)
            counts[kind][1] += len(got - gold)
            counts[kind][2] += len(gold - got)
            if got != gold:
                misses.append(Miss(title, kind, tuple(sorted(got - gold)), tuple(sorted(gold - got))))
            if kind == "topics":
                for slug, row in per_topic.items():
                    row[0] += slug in got and slug in gold
                    row[1] += slug in got and slug not in gold
                    row[2] += slug in gold and slug not in got
                confusions.update((missed, extra) for missed in gold - got for extra in got - gold)
    return Report(
        len(articles),
        Score(*counts["countries"]),
        Score(*counts["topics"]),
        tuple(misses),
        tuple((slug, Score(*row)) for slug, row in per_topic.items()),
        tuple(confusions.most_common()),
    )


def _row(name: str, score: Score) -> str:
    return (
        f"{name:<10} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f}  "
        f"{score.true_positives:>3} {score.false_positives:>3} {score.false_negatives:>3}"
    )


def format_report(report: Report, *, misses: bool = True) -> str:
    """A plain-text report: the scores, per topic, the confusions, then each miss (+ false positive,
    - false negative)."""
    header = f"{'':<10} {'precision':>9} {'recall':>7} {'F1':>6}   TP  FP  FN"
    lines = [f"Labelled articles: {report.articles}", "", header]
    lines += [_row("countries", report.countries), _row("topics", report.topics)]
    if report.per_topic:
        lines += ["", "Per topic:", header]
        lines += [_row(slug, score) for slug, score in report.per_topic]
    if report.confusions:
        lines += ["", "Confusions (a gold topic missed, and the topic found instead in the same article):"]
        lines += [f"  {missed} -> {extra}: {count}" for (missed, extra), count in report.confusions]
    if misses and report.misses:
        lines += ["", "Misses (+ tagged but not in the gold labels, - in the gold labels but not tagged):"]
        for miss in report.misses:
            changes = [f"+{value}" for value in miss.false_positives] + [f"-{value}" for value in miss.false_negatives]
            lines.append(f"  {miss.kind:<9} {' '.join(changes):<24} {miss.title}")
    return "\n".join(lines) + "\n"
