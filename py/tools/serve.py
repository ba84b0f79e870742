"""The development server: the site (assemble.SITE) with the headers it needs, and nothing else.

Cross-origin isolation (COOP/COEP) so SharedArrayBuffer and wasm threads are available, CORS and
CORP so other sites can embed the worker from here, and the MIME types wasm and modules need.
"""
from __future__ import annotations

import http.server
import posixpath
import threading
import urllib.parse
from pathlib import Path

from .assemble import SITE
from .assets import ROOT, BuildError

# The "another site" that embeds the app from a second origin (its own port).
EXAMPLE = ("examples/",)


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
        if not any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in self.server.served):
            self.send_error(404)
            return None
        return super().send_head()

    def end_headers(self):
        if self.server.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        # Other sites may embed the worker from here: its module, runtime and models load over CORS.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(port: int = 0, verbose: bool = False, served: tuple[str, ...] = SITE,
                index: str = "index.html", root: Path = ROOT,
                isolated: bool = True) -> http.server.ThreadingHTTPServer:
    """Serve only the `served` paths under root. isolated=False leaves out COOP/COEP, as a host that does
    not send them (the tests' single-thread case)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.verbose = verbose
    server.served, server.index, server.root, server.isolated = served, index, root, isolated
    return server


def serve(port: int) -> None:
    """The app on `port` (0: any free one) and, on the next, examples/embed.html as another site."""
    try:
        app = make_server(port, verbose=True)
        example = make_server(port + 1 if port else 0, verbose=True, served=EXAMPLE, index="examples/embed.html")
    except OSError as error:
        raise BuildError(f"cannot listen on 127.0.0.1:{port} or the next port ({error}); try --port 0") from None
    app_url = f"http://127.0.0.1:{app.server_address[1]}/"
    threading.Thread(target=example.serve_forever, daemon=True).start()
    print(f"Serving the app at {app_url}  (Ctrl+C stops)", flush=True)
    print(f"Another site embedding it: http://127.0.0.1:{example.server_address[1]}/?assets={app_url}static/",
          flush=True)
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        pass
