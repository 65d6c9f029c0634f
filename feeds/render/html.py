"""HTML pages from Jinja templates (autoescaped), shared by the service and the build."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from feeds.dates import rfc3339
from feeds.model import Article
from feeds.pipeline.index import Feed, Site
from feeds.render import Urls


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = rfc3339  # a <time datetime> value: the moment in UTC
    env.filters["day"] = _day
    return env


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _day(value: datetime) -> str:
    """The date in the zone it was written in, ``17 Mar 2023``, whatever the process locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _render(name: str, **context: object) -> bytes:
    return environment().get_template(name).render(**context).encode("utf-8")


def index_page(site: Site, urls: Urls, latest: int = 20) -> bytes:
    return _render(
        "index.html",
        meta=site.meta,
        site=site,
        urls=urls,
        discover=[site.feeds["all"]],
        countries=site.countries(with_articles=True),
        topics=site.topics(),
        limit=latest,
    )


def feed_page(site: Site, feed: Feed, urls: Urls) -> bytes:
    return _render("feed.html", meta=site.meta, site=site, urls=urls, discover=[feed], feed=feed)


def article_page(site: Site, article: Article, urls: Urls, countries: list[Feed], topics: list[Feed]) -> bytes:
    return _render(
        "article.html",
        meta=site.meta,
        urls=urls,
        article=article,
        countries=countries,
        topics=topics,
        discover=countries + topics,
    )


def not_found_page(site: Site, urls: Urls, message: str) -> bytes:
    return _render("404.html", meta=site.meta, urls=urls, discover=[site.feeds["all"]], message=message)
