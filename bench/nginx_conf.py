"""Start nginx with deploy/nginx.conf over a build, as a user installs it (listen and root changed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def start_nginx(program: str, root: Path, port: int, tmp: Path, *, precompressed: bool) -> subprocess.Popen:
    conf = tmp / "conf"
    (conf / "feeds").mkdir(parents=True)
    shutil.copy(DEPLOY / "country-redirects.conf", conf / "feeds")
    server = (DEPLOY / "nginx.conf").read_text("utf-8")
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port} reuseport;", 1)
    server = server.replace("root /srv/feeds/public;", f'root "{root}";', 1)
    if not precompressed:
        # nginx compressing each response itself, the usual setup without precompressed files
        server = server.replace("gzip_static on;", "gzip_static off;", 1)
    (conf / "feeds" / "nginx.conf").write_text(server, "utf-8")
    temp = "\n".join(f'    {k}_temp_path "{tmp}/{k}";' for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (conf / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes auto;
pid "{tmp}/nginx.pid";
error_log "{tmp}/error.log" error;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    sendfile on;
    tcp_nopush on;
    gzip on;
    gzip_comp_level 6;
    gzip_types application/atom+xml application/rss+xml application/feed+json text/x-opml text/css;
    include feeds/nginx.conf;
}}
""",
        "utf-8",
    )
    return subprocess.Popen(
        [program, "-p", f"{conf}/", "-c", str(conf / "nginx.conf"), "-e", str(tmp / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
