"""The production server: gunicorn running the app factory in-process."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from .web import create_app

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s "%(a)s" %(M)sms'


class _Server(BaseApplication):
    def __init__(self, config: dict[str, Any], options: dict[str, Any]) -> None:
        self.app_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(self.app_config)


def options(host: str, port: int) -> dict[str, Any]:
    """Worker settings, overridable with ``GUNICORN_CMD_ARGS``."""
    return {
        "bind": f"{host}:{port}",
        "workers": int(os.environ.get("FEEDS_WORKERS", "2")),
        "worker_class": "gthread",
        "threads": int(os.environ.get("FEEDS_THREADS", "8")),
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
    }


def run(config: dict[str, Any], host: str = "127.0.0.1", port: int = 8000) -> None:
    _Server(config, options(host, port)).run()
