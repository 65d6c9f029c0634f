"""HTTP semantics of serving one rendered document, through Werkzeug's header helpers.

:func:`respond` decides status, headers and body from the request headers: content coding
by ``Accept-Encoding`` q-values, the media type (a browser opening a feed or the OPML gets the same bytes
as ``application/xml``), validators and conditional requests (RFC 9110).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from werkzeug.http import parse_accept_header, parse_date, parse_etags, quote_etag, unquote_etag

from feeds.serve.live import Rendered

ARCHIVE_MAX_AGE = 30 * 24 * 3600
# A static file under its content-hashed name never changes (feeds.render.documents.asset).
IMMUTABLE = "public, max-age=31536000, immutable"
# Atom, RSS and OPML are served as application/xml to a browser opening them (README, "Feeds in a browser").
XML_FEED_TYPES = ("application/atom+xml", "application/rss+xml", "text/x-opml")
BROWSER_XML = "application/xml; charset=utf-8"
CSP = "default-src 'self'"
# A feed opened in a browser needs its CSS stylesheet and its copy button's script, nothing else.
BROWSER_XML_CSP = "default-src 'none'; style-src 'self'; script-src 'self'"
# The first of equal q-values wins: br is the smallest. x-gzip is gzip (RFC 9110 8.4.1.3).
CODINGS = ("br", "gzip", "x-gzip", "identity")


class Headers(Protocol):
    def get(self, key: str, default: str | None = None) -> str | None: ...


@lru_cache(maxsize=256)
def choose_coding(accept: str | None) -> str:
    """Pick br, gzip or identity from Accept-Encoding, honouring q-values (RFC 9110 12.5.3)."""
    best = parse_accept_header(accept).best_match(CODINGS, "identity")
    return "gzip" if best == "x-gzip" else best


def is_browser_navigation(headers: Headers) -> bool:
    """Whether a browser is opening the URL as a page (rather than a feed reader fetching it).

    True when ``Sec-Fetch-Dest`` is ``document``, or when ``Accept`` contains ``text/html``
    and none of ``application/atom+xml``, ``application/rss+xml`` and ``text/x-opml`` (readers
    that also accept HTML, such as those built on SimplePie, list the feed types). Both tests are
    substring matches that ignore case, so ``deploy/nginx.conf`` can mirror them with maps.
    """
    if (headers.get("Sec-Fetch-Dest") or "").strip().lower() == "document":
        return True
    accept = (headers.get("Accept") or "").lower()
    return "text/html" in accept and not any(kind in accept for kind in XML_FEED_TYPES)


def not_modified(etag: str, doc: Rendered, headers: Headers) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        # weak comparison (RFC 9110 13.1.2); a poller replaying the tag it got is the usual case
        return inm == etag or parse_etags(inm).contains_weak(unquote_etag(etag)[0])
    since = parse_date(headers.get("If-Modified-Since"))
    return since is not None and doc.last_modified.replace(microsecond=0) <= since


def respond(
    doc: Rendered, headers: Headers, max_age: int, hub: str | None = None, self_url: str = ""
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, response headers and body (empty for 304) for one request of ``doc``.

    ``self_url`` (with ``hub``, the WebSub hub, if any) makes a feed's Link header; empty, none.
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
        media_type, etag = BROWSER_XML, quote_etag(unquote_etag(etag)[0] + "-xml")
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
    elif navigation:
        out.append(("Content-Security-Policy", BROWSER_XML_CSP))
    if self_url and doc.kind == "feed":  # WebSub discovery (4): rel=hub only where pings come
        out.append(("Link", (f'<{hub}>; rel="hub", ' if hub else "") + f'<{self_url}>; rel="self"'))
    # A 304 carries no representation metadata but what guides caches (RFC 9110 15.4.5).
    unchanged = list(out)
    if coding != "identity":
        out.append(("Content-Encoding", coding))
    full = [*out, ("Content-Type", media_type), ("Content-Length", str(len(body)))]
    return etag, unchanged, full, body
