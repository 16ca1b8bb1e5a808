"""The built React client (client/dist) at `/`, with index.html for the client's own routes."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, request, send_from_directory
from markupsafe import escape
from werkzeug.security import safe_join

from .problems import problem

bp = Blueprint("site", __name__)

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>deJPEG</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>deJPEG</h1>
<p>The API is running. The web client is not built: run <code>make run</code>
(or <code>npm install &amp;&amp; npm run build</code>) and reload.</p>
<p>API: <a href="openapi.json">openapi.json</a> · <a href="models">models</a> ·
<a href="health">health</a></p>
<pre>curl -F image=@photo.jpg {root}detect
curl -F image=@photo.jpg {root}restore -o restored.png</pre>
</body></html>
"""


def _dist() -> str | None:
    dist = current_app.extensions["dejpeg"].config.client_dist
    return str(dist) if dist and (dist / "index.html").is_file() else None


def _index(dist: str):
    return send_from_directory(dist, "index.html", max_age=0)


@bp.get("/")
def index():
    dist = _dist()
    if dist is None:
        page = NOT_BUILT.replace("{root}", str(escape(request.host_url)))
        return page, 200, {"Content-Type": "text/html; charset=utf-8"}
    return _index(dist)


@bp.app_errorhandler(404)
def not_found(e):
    """A file of the built client, index.html for a browser on a client route, else a problem."""
    dist = _dist()
    if dist and request.method in ("GET", "HEAD"):
        path = request.path.lstrip("/")
        full = safe_join(dist, path)
        if full and os.path.isfile(full):
            return send_from_directory(dist, path)
        last = path.rsplit("/", 1)[-1]
        if "." not in last and "text/html" in request.headers.get("Accept", ""):
            return _index(dist)
    return problem(404, "Not Found", f"There is nothing at {request.path}. "
                   "The API is described at /openapi.json.")
