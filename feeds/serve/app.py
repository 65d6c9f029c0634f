"""The Flask application: serves the documents of :mod:`feeds.render.documents` over HTTP.

Responses carry an ETag computed from the exact bytes sent (one per content coding and media
type) and a Last-Modified equal to the document's newest change; conditional requests are
answered with 304 and no body. Feeds are rendered and compressed once per data version.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request

from feeds.config import Settings
from feeds.render.compress import compress
from feeds.render.documents import Redirect
from feeds.serve.http import CSP, EnvironHeaders, choose_coding, respond
from feeds.serve.live import Live, Rendered

MAX_PATH = 512
MAX_QUERY = 1024


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
        cache_dir=settings.cache_dir,
    )
    app.extensions["feeds"] = live
    app.extensions["feeds.settings"] = settings
    if not logging.getLogger().handlers:  # data problems and reloads go to stderr with the server's log
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("feeds").setLevel(logging.INFO)

    def base_url() -> str:
        return settings.base_url or base_url_of(request.environ)

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
                query = live.publisher(base_url()).query(request.args.to_dict(), full)
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
            return _not_found(live.publisher(base_url()).not_found(f"There is no page at {full}."))
        return _serve(found, settings, base_url() + full)

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


def _serve(doc: Rendered, settings: Settings, self_url: str) -> Response:
    status, headers, body = respond(doc, request.headers, settings.max_age, settings.websub_hub, self_url)
    response = Response(body, status=status)
    response.headers.clear()
    for key, value in headers:
        response.headers[key] = value
    return response


def base_url_of(environ: dict[str, Any]) -> str:
    """``scheme://host`` of a request, as every link on this host is written."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


_STATUS = {200: "200 OK", 304: "304 Not Modified"}


class FastPath:
    """WSGI middleware answering GET/HEAD of an already rendered document without Flask.

    Pollers fetch the same few feeds over and over; once a document is rendered, answering it
    is a dictionary lookup and a few header strings (same :func:`respond` as the Flask view).
    Anything else (queries, redirects, 404s, health) goes to the Flask app.
    """

    def __init__(self, app: Any, live: Live, settings: Settings) -> None:
        self.app = app
        self.live = live
        self.settings = settings

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO") or "/"
        if (method == "GET" or method == "HEAD") and not environ.get("QUERY_STRING") and len(path) <= MAX_PATH:
            self.live.maybe_reload()
            base = self.settings.base_url or base_url_of(environ)
            doc = self.live.cached(base, path)
            if doc is not None:
                status, headers, body = respond(
                    doc, EnvironHeaders(environ), self.settings.max_age, self.settings.websub_hub, base + path
                )
                start_response(_STATUS[status], headers)
                return [body] if method == "GET" else []
        return self.app(environ, start_response)
