"""The production server: granian running the app factory over WSGI.

Chosen by measurement (``make bench``; README, "Performance"): with rendered documents
cached, serving is dominated by the server's own per-request cost, and granian's Rust HTTP
layer answers several times more requests per second than gunicorn's workers on the same
cores. ``deploy/gunicorn.conf.py`` remains for sites that standardise on gunicorn.
"""

from __future__ import annotations

import os
from typing import Any

from granian import Granian
from granian.constants import Interfaces


def options(host: str, port: int) -> dict[str, Any]:
    """Server settings; FEEDS_WORKERS, FEEDS_THREADS and FEEDS_ACCESS_LOG override them."""
    return {
        "address": host,
        "port": port,
        "interface": Interfaces.WSGI,
        "workers": int(os.environ.get("FEEDS_WORKERS", "2")),
        "blocking_threads": int(os.environ.get("FEEDS_THREADS", "4")),
        "backlog": 2048,
        "log_access": os.environ.get("FEEDS_ACCESS_LOG", "1") not in ("0", "false", "no"),
        "log_access_format": '[%(time)s] %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3fms',
        "websockets": False,
        "respawn_failed_workers": True,
        "factory": True,
    }


def run(config: dict[str, Any], host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``create_app()`` with settings passed as FEEDS_* variables (the factory reads them)."""
    for key, value in config.items():
        os.environ[f"FEEDS_{key}"] = str(value)
    Granian("feeds.serve.app:create_app", **options(host, port)).serve()
