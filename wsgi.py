"""WSGI entry point: ``gunicorn wsgi:app``."""

from feeds.serve.app import create_app

app = create_app()
