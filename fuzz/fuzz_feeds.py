"""atheris fuzz target: arbitrary bytes through the parser and every renderer.

    make fuzz            # bounded run (FUZZ_SECONDS, default 60)

A crash is any exception: the parser must report bad input, never raise, and every
rendered feed must be well-formed XML or valid JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from lxml import etree

    from feeds.render.documents import Publisher
    from feeds.pipeline.ledger import Ledger, assign
    from feeds.pipeline.load import load_tagger
    from feeds.model import Article
    from feeds.pipeline.parse import decode, parse_text
    from feeds.pipeline.index import SiteMeta, index

SHIPPED_DATA = Path(__file__).resolve().parent.parent / "data"  # the checkout's own site
TAGGER = load_tagger(SHIPPED_DATA)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_one_input(data: bytes) -> None:
    text, _ = decode(data, "fuzz.txt")
    listing = parse_text(text, "fuzz.txt")
    assigned = assign(listing.entries, Ledger("fuzz.example", "2026-01-01", ()), NOW)
    articles = []
    for entry, record in zip(listing.entries, assigned.records, strict=True):
        tags = TAGGER.tag(entry.title, entry.summary)
        articles.append(
            Article(
                id=record.id,
                slug=record.slug,
                title=entry.title,
                summary=entry.summary,
                published=entry.meta.date or record.first_seen,
                updated=record.updated,
                location=entry.location,
                link=entry.meta.link,
                author=entry.meta.author,
                countries=tags.countries,
                topics=tags.topics,
            )
        )
    countries = [(c.code, c.slug, c.name) for c in TAGGER.countries]
    topics = [(t.slug, t.name, t.description) for t in TAGGER.topics]
    site = index(SiteMeta(), articles, countries, topics, "tag:fuzz.example,2026:")
    publisher = Publisher(site, "https://fuzz.example")
    for key in ["all"] + [f"countries/{slug}" for _, slug, _ in countries if site.feeds[f"countries/{slug}"].articles]:
        for fmt in ("atom", "rss", "json"):
            body = publisher.resolve(f"/feeds/{key}.{fmt}").render()
            if fmt == "json":
                json.loads(body)
            else:
                etree.fromstring(body)
    for article in articles:
        publisher.resolve(f"/articles/{article.slug}").render()


def main() -> None:
    corpus = Path(__file__).parent / "corpus"
    corpus.mkdir(exist_ok=True)
    seed = corpus / "seed.txt"
    if not seed.exists():
        seed.write_bytes((SHIPPED_DATA / "articles.txt").read_bytes())
    atheris.Setup(sys.argv + [str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
