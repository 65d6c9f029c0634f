"""The Flask application: serves the documents of :mod:`feeds.documents` over HTTP.

Responses carry an ETag computed from the exact bytes sent (one per content coding and media
type) and a Last-Modified equal to the document's newest change; conditional requests are
answered with 304 and no body. Feeds are rendered and compressed once per data version.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from flask import Flask, Response, request

from .config import Settings
from .documents import Redirect
from .live import Live, Rendered

MAX_PATH = 512
MAX_QUERY = 1024
ARCHIVE_MAX_AGE = 30 * 24 * 3600
# Atom and RSS are served as application/xml to a browser opening them (README, "Feeds in a browser").
XML_FEED_TYPES = ("application/atom+xml", "application/rss+xml")
BROWSER_XML = "application/xml; charset=utf-8"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory; settings come from ``FEEDS_*`` variables, then ``config``."""
    app = Flask(__name__, static_folder=None)
    app.config.from_prefixed_env("FEEDS")
    if config:
        app.config.update(config)
    settings = Settings.from_mapping(app.config)
    live = Live(
        settings.data_dir,
        settings.publish,
        reload_interval=settings.reload_interval,
        base_url=settings.base_url,
    )
    app.extensions["feeds"] = live
    app.extensions["feeds.settings"] = settings
    logging.getLogger("feeds").setLevel(logging.INFO)

    def base_url() -> str:
        return settings.base_url or request.host_url.rstrip("/")

    @app.before_request
    def check_for_changes() -> None:
        live.maybe_reload()

    @app.get("/healthz")
    def healthz() -> Response:
        site = live.version.loaded.site
        errors = [str(d) for d in live.problems if d.is_error]
        body = {
            "status": "degraded" if errors else "ok",
            "articles": len(site.articles),
            "version": site.version,
            "updated": site.updated.isoformat(),
            "errors": errors,
        }
        response = app.json.response(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def document(path: str) -> Response:
        full = "/" + path
        if len(full) > MAX_PATH or "\x00" in full:
            return _plain(400, "Bad request: the path is too long or contains NUL.\n")
        if request.query_string:
            if len(request.query_string) > MAX_QUERY:
                return _plain(400, f"Bad request: the query is longer than {MAX_QUERY} bytes.\n")
            try:
                query = live.publisher(base_url()).query(request.args.to_dict())
            except ValueError as exc:
                return _plain(400, f"Bad request: {exc}.\n")
            found = live.get(base_url(), full, query)
            if found is None:
                return _plain(404, "Filters apply to feeds only, e.g. /feeds/all.atom?country=fr&topic=strikes\n")
        else:
            found = live.get(base_url(), full)
        if isinstance(found, Redirect):
            response = Response(status=301, headers={"Location": found.location})
            response.headers["Cache-Control"] = f"public, max-age={settings.max_age}"
            return response
        if found is None:
            page = live.publisher(base_url()).not_found(f"There is no page at {full}.")
            response = Response(page, status=404, content_type="text/html; charset=utf-8")
            response.headers["Cache-Control"] = "no-cache"
            return response
        response = _serve(found, settings)
        if settings.websub_hub and found.kind == "feed":
            response.headers["Link"] = f'<{settings.websub_hub}>; rel="hub", <{base_url()}{full}>; rel="self"'
        return response

    return app


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


def _coding(accept: str | None) -> str:
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


def _is_browser_navigation(headers: Mapping[str, str]) -> bool:
    """Whether a browser is opening the URL as a page (rather than a feed reader fetching it).

    True when ``Sec-Fetch-Dest`` is ``document``, or when ``Accept`` contains ``text/html``
    and contains neither ``application/atom+xml`` nor ``application/rss+xml`` (readers that
    also accept HTML, such as those built on SimplePie, list the feed types). Both tests are
    substring matches that ignore case, so ``deploy/nginx.conf`` can mirror them with maps.
    """
    if headers.get("Sec-Fetch-Dest", "").strip().lower() == "document":
        return True
    accept = headers.get("Accept", "").lower()
    return "text/html" in accept and not any(kind in accept for kind in XML_FEED_TYPES)


def _serve(doc: Rendered, settings: Settings) -> Response:
    coding = _coding(request.headers.get("Accept-Encoding"))
    body, etag = doc.variant(coding)
    media_type = doc.media_type
    negotiated = media_type.partition(";")[0] in XML_FEED_TYPES
    if negotiated and _is_browser_navigation(request.headers):
        # The same bytes; browsers render application/xml through the feed's CSS stylesheet.
        # A strong ETag names one representation (RFC 9110 8.8.3), so this one has its own.
        media_type, etag = BROWSER_XML, f'{etag[:-1]}-xml"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(doc.last_modified, usegmt=True),
        "Vary": "Accept, Sec-Fetch-Dest, Accept-Encoding" if negotiated else "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": f"public, max-age={settings.max_age}",
    }
    if doc.kind == "archive":  # a full archive page never changes (RFC 5005)
        headers["Cache-Control"] = f"public, max-age={ARCHIVE_MAX_AGE}"
    if doc.kind in ("feed", "opml", "archive"):
        headers["Access-Control-Allow-Origin"] = "*"
    if doc.kind == "page":
        headers["Content-Security-Policy"] = "default-src 'self'"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if coding != "identity":
        headers["Content-Encoding"] = coding
    if _not_modified(etag, doc):
        return Response(status=304, headers=headers)
    response = Response(body, status=200, headers=headers, content_type=media_type)
    return response


def _not_modified(etag: str, doc: Rendered) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return doc.last_modified.replace(microsecond=0) <= since
    return False
