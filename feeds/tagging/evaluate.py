"""Evaluate the tagger on a labelled set: micro precision, recall and F1, and every miss.

The labelled set is a TOML file of ``[[article]]`` tables with ``title``, ``summary``, gold ``countries``
(alpha-2 codes) and gold ``topics`` (slugs), and an optional ``note``::

    python -m feeds.tagging.evaluate [feeds/tagging/corpus/dev.toml]
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from feeds.tagging.tag import Tagger, TaggingDataError

DEFAULT_LABELLED = Path(__file__).resolve().parent / "corpus" / "dev.toml"


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


def evaluate(tagger: Tagger, labelled_path: Path) -> Report:
    """Tag every article of the labelled set and compare with its gold labels."""
    counts = {"countries": [0, 0, 0], "topics": [0, 0, 0]}
    misses: list[Miss] = []
    articles = _labelled(Path(labelled_path))
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
    return Report(len(articles), Score(*counts["countries"]), Score(*counts["topics"]), tuple(misses))


def format_report(report: Report) -> str:
    """A plain-text report: the scores, then each miss (+ false positive, - false negative)."""
    lines = [f"Labelled articles: {report.articles}", ""]
    lines.append(f"{'':<10} {'precision':>9} {'recall':>7} {'F1':>6}   TP  FP  FN")
    for name, score in (("countries", report.countries), ("topics", report.topics)):
        lines.append(
            f"{name:<10} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f}  "
            f"{score.true_positives:>3} {score.false_positives:>3} {score.false_negatives:>3}"
        )
    if report.misses:
        lines += ["", "Misses (+ tagged but not in the gold labels, - in the gold labels but not tagged):"]
        for miss in report.misses:
            changes = [f"+{value}" for value in miss.false_positives] + [f"-{value}" for value in miss.false_negatives]
            lines.append(f"  {miss.kind:<9} {' '.join(changes):<24} {miss.title}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m feeds.tagging.evaluate [labelled.toml]``: print the report for the shipped data."""
    args = sys.argv[1:] if argv is None else argv
    labelled = Path(args[0]) if args else DEFAULT_LABELLED
    data_dir = Path(__file__).resolve().parents[2] / "data"
    try:
        report = evaluate(Tagger.load(data_dir), labelled)
    except TaggingDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_report(report), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
