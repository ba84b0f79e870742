"""The development server: the site (assemble.SITE) with its headers (headers.py), and nothing else:
no directory listings, nothing outside the site.
"""
from __future__ import annotations

import http.server
import posixpath
import sys
import threading
import urllib.parse
from pathlib import Path

from . import headers
from .assemble import SITE
from .assets import ROOT, BuildError



class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".json": "application/json", ".onnx": "application/octet-stream", ".whl": "application/zip",
    }

    def __init__(self, request, client_address, server):
        super().__init__(request, client_address, server, directory=str(server.root))

    def send_head(self):
        # Judge the path as the file system will see it: unquoted and normalised.
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        relative = posixpath.normpath(path).lstrip("/")
        if relative in ("", "."):
            relative = self.server.index
            self.path = "/" + relative
        self.relative = relative
        served = any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in self.server.served)
        if not served or (self.server.root / relative).is_dir():
            self.send_error(404)
            return None
        return super().send_head()

    def end_headers(self):
        for name, value in self.server.headers_for(getattr(self, "relative", ""), self.server.isolated).items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A tab closed in the middle of a download is the browser's business, not a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def example_site(assets: str) -> dict:
    """make_server's settings for the example site, another origin embedding the remover from `assets`
    (the app's origin)."""
    return {"served": ("examples/",), "index": "examples/embed.html", "headers_for": headers.another_site(assets)}


def make_server(port: int = 0, verbose: bool = False, served: tuple[str, ...] = SITE,
                index: str = "index.html", root: Path = ROOT, isolated: bool = True,
                headers_for=headers.for_path) -> Server:
    """Serve only the `served` paths under root, each with headers_for(path, isolated). isolated=False
    leaves out COOP/COEP, as a host that does not send them (the tests' single-thread case)."""
    server = Server(("127.0.0.1", port), Handler)
    server.verbose = verbose
    server.served, server.index, server.root, server.isolated = served, index, root, isolated
    server.headers_for = headers_for
    return server


def serve(port: int) -> None:
    """The app on `port` (0: any free one) and, on the next, examples/embed.html as another site."""
    try:
        app = make_server(port, verbose=True)
        app_url = f"http://127.0.0.1:{app.server_address[1]}/"
        example = make_server(port + 1 if port else 0, verbose=True, **example_site(app_url.rstrip("/")))
    except OSError as error:
        raise BuildError(f"cannot listen on 127.0.0.1:{port} or the next port ({error}); try --port 0") from None
    threading.Thread(target=example.serve_forever, daemon=True).start()
    print(f"Serving the app at {app_url}  (Ctrl+C stops)", flush=True)
    print(f"Another site embedding it: http://127.0.0.1:{example.server_address[1]}/?assets={app_url}static/",
          flush=True)
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        pass
