"""nginx as a child process in front of a live rs3d: the X-Accel-Redirect site of docs/nginx.md, on a free port.

The config is generated into a temporary folder that also holds nginx's pid file, logs and temp files, so no
system path is touched and no privilege is needed (as root, the workers stay root: they must read the test's
private temporary folders). ``SITE`` is the docs' site, minus TLS, static files and websockets, which these
runs do not need; a test checks that the docs still show the same internal location.
"""

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.processes import stop_processes

#: The internal location of docs/nginx.md ({prefix}, {media} filled in), word for word.
ACCEL_LOCATION = """\
    location {prefix} {{
        internal;                   # only an X-Accel-Redirect from rs3d reaches it, never a client
        alias {media}/;
        sendfile on;
        tcp_nopush on;
        etag off;                   # rs3d's ETag (one per representation) is sent instead of nginx's
        if_modified_since off;      # rs3d answered every 304 before handing over
        max_ranges 1;               # rs3d hands over only a single satisfiable Range
        # nginx keeps only a few upstream headers on X-Accel-Redirect (Content-Type, Cache-Control,
        # Set-Cookie, Accept-Ranges...): copy the others from rs3d's answer (an empty one is not sent).
        add_header ETag $upstream_http_etag;
        add_header Content-Encoding $upstream_http_content_encoding;
        add_header Vary $upstream_http_vary;
        add_header X-Content-Type-Options $upstream_http_x_content_type_options;
        add_header Referrer-Policy $upstream_http_referrer_policy;
        add_header Cross-Origin-Opener-Policy $upstream_http_cross_origin_opener_policy;
        add_header X-Frame-Options $upstream_http_x_frame_options;
        add_header Content-Security-Policy $upstream_http_content_security_policy;
        add_header Permissions-Policy $upstream_http_permissions_policy;
        add_header Strict-Transport-Security $upstream_http_strict_transport_security;
    }}
"""

_CONFIG = """\
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream rs3d {{
        server {upstream};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Connection "";
        location / {{
            proxy_pass http://rs3d;
            gzip off;
            proxy_max_temp_file_size 0;
        }}
{accel}    }}
}}
"""


def binary() -> str | None:
    """The nginx executable (Debian's nginx-light puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@contextmanager
def in_front_of(upstream: str, media_root: Path, prefix: str, port: int, workers: str = "auto") -> Iterator[str]:
    """Start nginx on ``port`` proxying to ``upstream`` (host:port) with the X-Accel-Redirect location; yield its URL.

    Raises RuntimeError (with the end of nginx's error log) if nginx is missing or exits while starting.
    """
    with tempfile.TemporaryDirectory(prefix="rs3d-nginx-") as tmp:
        accel = ACCEL_LOCATION.format(prefix=prefix, media=os.path.realpath(media_root))
        config = _CONFIG.format(tmp=tmp, port=port, upstream=upstream, accel=accel, workers=workers)
        with running(config, Path(tmp), port) as url:
            yield url


@contextmanager
def running(config: str, tmp: Path, port: int) -> Iterator[str]:
    """Run nginx with ``config`` (its pid, log and temp paths under ``tmp``), listening on ``port``; yield its URL.

    Raises RuntimeError (with the end of nginx's error log) if nginx is missing or exits while starting.
    """
    executable = binary()
    if executable is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    (tmp / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [executable, "-c", str(tmp / "nginx.conf"), "-g", "user root;" if os.geteuid() == 0 else ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process, tmp / "error.log")
        yield url
    finally:
        stop_processes(process, timeout=10)


def _wait(url: str, process: subprocess.Popen, error_log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = error_log.read_text()[-2000:] if error_log.exists() else ""
            raise RuntimeError(f"nginx exited with {process.returncode}: {error}")
        try:
            with urllib.request.urlopen(url + "/_nginx_up", timeout=1):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # nginx answered (the app's 404, or 502 while the app is down): it is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer on {url} within {timeout:.0f} s")
