"""gunicorn settings, for sites that standardise on it: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

``feeds serve`` uses granian, measured faster on the same cores (README, "Performance").
gthread workers keep the background reload of changed data from blocking requests.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("FEEDS_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("FEEDS_THREADS", "8"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s "%(a)s" %(M)sms'
