"""HTTP semantics of serving one rendered document, free of any web framework.

:func:`respond` decides status, headers and body from the request headers: content coding
by ``Accept-Encoding`` q-values, the media type (a browser opening a feed gets the same bytes
as ``application/xml``), validators and conditional requests (RFC 9110). The Flask view and
the WSGI fast path in :mod:`feeds.serve.app` both call it, so they answer identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Protocol

from feeds.serve.live import Rendered

ARCHIVE_MAX_AGE = 30 * 24 * 3600
# A static file under its content-hashed name never changes (feeds.render.documents.asset).
IMMUTABLE = "public, max-age=31536000, immutable"
# Atom and RSS are served as application/xml to a browser opening them (README, "Feeds in a browser").
XML_FEED_TYPES = ("application/atom+xml", "application/rss+xml")
BROWSER_XML = "application/xml; charset=utf-8"
CSP = "default-src 'self'"


class Headers(Protocol):
    def get(self, key: str, default: str | None = None) -> str | None: ...


class EnvironHeaders:
    """Request headers read straight from a WSGI environ."""

    __slots__ = ("environ",)

    def __init__(self, environ: Mapping[str, object]) -> None:
        self.environ = environ

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.environ.get("HTTP_" + key.upper().replace("-", "_"), default)  # type: ignore[return-value]


@lru_cache(maxsize=256)
def choose_coding(accept: str | None) -> str:
    """Pick br, gzip or identity from Accept-Encoding, honouring q-values (RFC 9110 12.5.3)."""
    if not accept:
        return "identity"
    q: dict[str, float] = {}
    for part in accept.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            q[name] = weight
    star = q.get("*")
    best, best_q = "identity", q.get("identity", star if star is not None and star > 0 else 1.0)
    for coding in ("gzip", "br"):  # later wins a tie: br is smaller
        weight = q.get(coding, star or 0.0)
        if weight > 0 and weight >= best_q:
            best, best_q = coding, weight
    return best


def is_browser_navigation(headers: Headers) -> bool:
    """Whether a browser is opening the URL as a page (rather than a feed reader fetching it).

    True when ``Sec-Fetch-Dest`` is ``document``, or when ``Accept`` contains ``text/html``
    and contains neither ``application/atom+xml`` nor ``application/rss+xml`` (readers that
    also accept HTML, such as those built on SimplePie, list the feed types). Both tests are
    substring matches that ignore case, so ``deploy/nginx.conf`` can mirror them with maps.
    """
    if (headers.get("Sec-Fetch-Dest") or "").strip().lower() == "document":
        return True
    accept = (headers.get("Accept") or "").lower()
    return "text/html" in accept and not any(kind in accept for kind in XML_FEED_TYPES)


def not_modified(etag: str, doc: Rendered, headers: Headers) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        if inm == etag:
            return True
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    ims = headers.get("If-Modified-Since")
    if ims:
        if ims == doc.last_modified_http:
            return True
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return doc.last_modified.replace(microsecond=0) <= since
    return False


def respond(
    doc: Rendered, headers: Headers, max_age: int, hub: str | None = None, self_url: str = ""
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, response headers and body (empty for 304) for one request of ``doc``.

    The returned header list is shared by the requests of the same shape: callers must not change it.
    """
    coding = choose_coding(headers.get("Accept-Encoding"))
    navigation = doc.media_type.startswith(XML_FEED_TYPES) and is_browser_navigation(headers)
    shape = (coding, navigation, max_age, hub, self_url)
    made = doc.responses.get(shape)
    if made is None:
        if len(doc.responses) >= _SHAPES:  # a few shapes per document; more come only from unusual clients
            doc.responses.clear()
        made = doc.responses[shape] = _made(doc, coding, navigation, max_age, hub, self_url)
    etag, unchanged, full, body = made
    if not_modified(etag, doc, headers):
        return 304, unchanged, b""
    return 200, full, body


_SHAPES = 16


def _made(
    doc: Rendered, coding: str, navigation: bool, max_age: int, hub: str | None, self_url: str
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]], bytes]:
    """ETag, 304 headers, 200 headers and body of one shape of request."""
    body, etag = doc.variant(coding)
    media_type = doc.media_type
    negotiated = media_type.startswith(XML_FEED_TYPES)
    if navigation:
        # The same bytes; browsers render application/xml through the feed's CSS stylesheet.
        # A strong ETag names one representation (RFC 9110 8.8.3), so this one has its own.
        media_type, etag = BROWSER_XML, f'{etag[:-1]}-xml"'
    age = ARCHIVE_MAX_AGE if doc.kind == "archive" else max_age
    out = [
        ("ETag", etag),
        ("Last-Modified", doc.last_modified_http),
        ("Vary", "Accept, Sec-Fetch-Dest, Accept-Encoding" if negotiated else "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", IMMUTABLE if doc.kind == "asset" else f"public, max-age={age}"),
    ]
    if doc.kind in ("feed", "opml", "archive"):
        out.append(("Access-Control-Allow-Origin", "*"))
    if doc.kind == "page":
        out.append(("Content-Security-Policy", CSP))
        out.append(("Referrer-Policy", "strict-origin-when-cross-origin"))
    if hub and doc.kind == "feed":
        out.append(("Link", f'<{hub}>; rel="hub", <{self_url}>; rel="self"'))
    # A 304 carries no representation metadata but what guides caches (RFC 9110 15.4.5).
    unchanged = list(out)
    if coding != "identity":
        out.append(("Content-Encoding", coding))
    full = [*out, ("Content-Type", media_type), ("Content-Length", str(len(body)))]
    return etag, unchanged, full, body
