"""The Flask application: serves the documents of :mod:`feeds.render.documents` over HTTP.

Responses carry an ETag computed from the exact bytes sent (one per content coding and media
type) and a Last-Modified equal to the document's newest change; conditional requests are
answered with 304 and no body. Feeds are rendered and compressed once per data version.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import EnvironHeaders

from feeds.config import Settings
from feeds.render.compress import compress
from feeds.render.documents import MAX_LIMIT, FeedQuery, PublishOptions, Redirect
from feeds.serve.http import CSP, choose_coding, respond
from feeds.serve.live import Live, Rendered

MAX_PATH = 512
MAX_QUERY = 1024
# host[:port] (RFC 9110 7.2): a name, an IPv4 address or a bracketed IPv6 one. Of RFC 3986's
# reg-name, the sub-delims and %-escapes are left out: no DNS name holds them, and a Host is
# written into every link when no base URL is set. Two Host lines arrive joined by a comma.
HOST = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
FORMAT = "<any(atom, rss, json):fmt>"
#: The URL space (README, "URLs"); every route is answered from :class:`~feeds.render.documents.Publisher`.
ROUTES = (
    "/",
    "/feeds.opml",
    "/favicon.ico",
    "/static/<name>",
    f"/feeds/<path:feed>.{FORMAT}",  # archive pages and ISO-code redirects too
    "/articles/<slug>",
    "/countries/<slug>",
    "/topics/<slug>",
    "/countries",
    "/topics",
    "/subscribe",
)


class Prepared(Response):
    """A response whose headers :func:`respond` made complete, sent as they are (Werkzeug's own
    pass would drop Last-Modified from a 304, and add a Content-Type to it)."""

    default_mimetype = None

    def get_wsgi_headers(self, environ: Any) -> Any:
        return self.headers


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory; settings come from ``FEEDS_*`` variables, then ``config``."""
    app = Flask(__name__, static_folder=None)
    app.config.from_prefixed_env("FEEDS")
    if config:
        app.config.update(config)
    settings = Settings.from_mapping(app.config)
    live = Live(
        settings.data_dir,
        PublishOptions(entry_limit=settings.entry_limit, max_age=settings.max_age, hub=settings.websub_hub),
        reload_interval=settings.reload_interval,
        cache_bytes=settings.cache_bytes,
        base_url=settings.base_url,
        cache_dir=settings.cache_dir,
        read_only_ledger=settings.read_only_ledger,
    )
    app.extensions["feeds"] = live
    live.start()  # checks the data directory every FEEDS_RELOAD_INTERVAL seconds, requests or not
    app.extensions["feeds.settings"] = settings
    if not logging.getLogger().handlers:  # data problems and reloads go to stderr with the server's log
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("feeds").setLevel(logging.INFO)

    def base_url() -> str:
        return settings.base_url or base_url_of(request.environ)

    @app.before_request
    def check_request() -> Response | None:
        host = request.environ.get("HTTP_HOST")
        if host and not HOST.fullmatch(host):
            return _plain(400, "Bad request: the Host header is not a valid host[:port].\n")
        if len(request.path) > MAX_PATH or "\x00" in request.path:
            return _plain(400, "Bad request: the path is too long or contains NUL.\n")
        return None

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
            # of the worker process that answers
            "cache_bytes": live.cache_bytes,
            "renders": live.renders,
            # held back by a read-only ledger until `feeds ids` records them
            "waiting_for_id": [f"{e.location}: {e.title}" for e in live.version.loaded.waiting],
        }
        response = app.json.response(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    def document(**_parts: str) -> Response:
        path = request.path
        query = None
        if request.query_string:
            if len(request.query_string) > MAX_QUERY:
                return _plain(400, f"Bad request: the query is longer than {MAX_QUERY} bytes.\n")
            args = request.args.to_dict()
            limit = args.get("limit", "0")
            if not limit.isascii():  # "²".isdigit(), and int() reads Arabic-Indic digits
                return _plain(400, f"Bad request: limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}.\n")
            try:
                query = live.publisher(base_url()).query(args, path)
            except ValueError as exc:
                return _plain(400, f"Bad request: {exc}.\n")
            if query == FeedQuery():  # no filter, only parameters it ignores: the document itself
                query = None
        if query is not None:
            found = live.get(base_url(), path, query)
            if found is None:
                return _plain(404, "Filters apply to feeds only, e.g. /feeds/all.atom?country=fr&topic=strikes\n")
            if isinstance(found, Rendered):  # never pinged: no hub, and rel=self names the filtered URL
                return _serve(found, settings, base_url() + path + query.canonical(), subscribed=False)
        else:
            found = live.get(base_url(), path)
        if isinstance(found, Redirect):
            location = found.location + (query.canonical() if query else "")  # readers keep a 301
            response = Response(status=301, headers={"Location": location})
            response.headers["Cache-Control"] = f"public, max-age={settings.max_age}"
            return response
        if found is None:
            return not_found()
        return _serve(found, settings, base_url() + path)

    app.url_map.merge_slashes = False  # /feeds//all.atom is not a feed: 404, not a redirect
    for rule in ROUTES:
        # strict_slashes off: /countries/france/ reaches the view, which answers 301 to /countries/france
        app.add_url_rule(rule, view_func=document, endpoint="document", methods=["GET"], strict_slashes=False)

    @app.errorhandler(404)
    def not_found(_error: object = None) -> Response:
        return _not_found(live.publisher(base_url()).not_found(f"There is no page at {request.path}."))

    app.wsgi_app = FastPath(app.wsgi_app, live, settings)  # type: ignore[method-assign]
    return app


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


def _not_found(page: bytes) -> Response:
    """The 404 page, compressed as every page is."""
    coding = choose_coding(request.headers.get("Accept-Encoding"))
    response = Response(page if coding == "identity" else compress(page, coding), status=404)
    response.headers.update({"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})
    response.headers.update({"Vary": "Accept-Encoding", "Content-Security-Policy": CSP})
    if coding != "identity":
        response.headers["Content-Encoding"] = coding
    return response


def _serve(doc: Rendered, settings: Settings, self_url: str, subscribed: bool = True) -> Response:
    hub, self_url = _links(settings.websub_hub, self_url, subscribed)
    status, headers, body = respond(doc, request.headers, settings.max_age, hub, self_url)
    return Prepared(body, status=status, headers=headers)


def _links(hub: str | None, self_url: str, subscribed: bool) -> tuple[str | None, str]:
    """The Link header's hub and self (WebSub 4): the hub only on subscription feeds, which are
    pinged (not on filtered feeds or archive pages); none at all without a hub."""
    if not hub:
        return None, ""
    return (hub if subscribed and "/feeds/archive/" not in self_url else None), self_url


def base_url_of(environ: dict[str, Any]) -> str:
    """``scheme://host`` of a request, as every link on this host is written."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


class FastPath:
    """WSGI middleware answering GET and HEAD of a document already rendered for the site's own host.

    Pollers ask for the same few feeds over and over. Once a document is rendered it is answered by
    a cache lookup and :func:`respond`, as the Flask view would, without Flask's request and routing
    machinery: in two ``make bench`` runs minutes apart, Flask's routes alone served 0.20x as many requests as nginx
    ``gzip_static``, and 0.67x with this path. Anything else (queries, redirects, 404s, health,
    documents not rendered yet, which the view checks first) goes to the Flask app.
    """

    def __init__(self, app: Any, live: Live, settings: Settings) -> None:
        self.app, self.live, self.settings = app, live, settings

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD")
        host = environ.get("HTTP_HOST")
        if (method == "GET" or method == "HEAD") and not environ.get("QUERY_STRING") and HOST.fullmatch(host or "x"):
            base = self.settings.base_url or base_url_of(environ)
            path = environ.get("PATH_INFO") or "/"
            doc = self.live.cached(base, path)
            if doc is not None:
                hub, self_url = _links(self.settings.websub_hub, base + path, True)
                status, headers, body = respond(doc, EnvironHeaders(environ), self.settings.max_age, hub, self_url)
                start_response("200 OK" if status == 200 else "304 Not Modified", headers)
                return [body] if method == "GET" else []
        return self.app(environ, start_response)
