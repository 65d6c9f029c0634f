"""WSGI entry point: ``gunicorn wsgi:app``."""

from feeds.web import create_app

app = create_app()
