"""gunicorn settings for ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

The same settings ``feeds serve`` uses (feeds/server.py): gthread workers, so that the
background reload of changed data never blocks requests; FEEDS_WORKERS and FEEDS_THREADS
size the pool; HOST and PORT choose the address.
"""

import os

from feeds.server import options

globals().update(options(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))))
