"""The HTTP headers the site needs and the ones that lock it down, in one table: `build.py serve` sends
them, `build.py build --out` writes them for the host as a `_headers` file (Netlify and Cloudflare
Pages read it; README.md shows it for others), and a browser test runs the app under exactly them.
"""
from __future__ import annotations


def policy(*parts: dict[str, tuple[str, ...]]) -> str:
    """A Content-Security-Policy from directives -> sources, later parts adding to earlier ones."""
    merged: dict[str, list[str]] = {}
    for part in parts:
        for directive, sources in part.items():
            kept = merged.setdefault(directive, [])
            kept.extend(source for source in sources if source not in kept)
    return "; ".join(" ".join((directive, *sources)) for directive, sources in merged.items())


# The page runs only its own scripts and styles, fetches only from its own origin, and shows
# photos and results from blob: URLs (and the empty data: favicon). No inline script, no eval.
PAGE_POLICY = policy({
    "default-src": ("'none'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "blob:", "data:"),
    "connect-src": ("'self'",),
    "worker-src": ("'self'",),
    "base-uri": ("'none'",),
    "form-action": ("'none'",),
    "frame-ancestors": ("'none'",),
})
# A worker's own policy comes with its script. The engine imports the runtime's scripts from blob:
# URLs of the bytes it has checked, onnxruntime-web starts its threads' workers from such a URL too,
# and Pyodide and onnxruntime compile WebAssembly.
WORKER_POLICY = policy({
    "default-src": ("'none'",),
    "script-src": ("'self'", "blob:", "'wasm-unsafe-eval'"),
    "connect-src": ("'self'",),
    "worker-src": ("'self'", "blob:"),
})


def embedding(assets: str) -> dict[str, tuple[str, ...]]:
    """What a page on another origin must allow to embed the remover from `assets` (an origin): the
    engine runs there under the page's own policy, started from a blob: module that imports ours (a
    module worker's imports count as worker-src)."""
    return {
        "script-src": (assets, "blob:", "'wasm-unsafe-eval'"),
        "worker-src": (assets, "blob:"),
        "connect-src": (assets,),
    }


def another_site(assets: str):
    """The headers of another site's pages that embed the remover from `assets` (the examples, the
    bundled test app): isolated, so the remover has threads, under a strict policy of their own (their
    own scripts and styles, results as blob: images, an empty data: icon) plus what the remover needs."""
    own = {"default-src": ("'none'",), "script-src": ("'self'",), "style-src": ("'self'",), "img-src": ("blob:", "data:")}
    sent = {**ISOLATION, "Content-Security-Policy": policy(own, embedding(assets))}

    def headers_for(relative: str, isolated: bool = True) -> dict[str, str]:
        return dict(sent)

    return headers_for


# The scripts that start a worker (theirs is the WORKER_POLICY); the service worker only fetches;
# the zip writer only imports its modules.
WORKER_SCRIPTS = ("worker.js", "static/engine/inference-worker.js")
SERVICE_WORKER = "sw.js"
SERVICE_WORKER_POLICY = policy({"default-src": ("'none'",), "connect-src": ("'self'",)})
ZIP_WORKER = "static/zip/zip-worker.js"
ZIP_WORKER_POLICY = policy({"default-src": ("'none'",), "script-src": ("'self'",)})

# Every feature the page never uses, turned off (it reads pasted images from the paste event, which
# needs no permission).
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "clipboard-read", "display-capture", "encrypted-media",
    "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment",
    "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
))

# Cross-origin isolation (SharedArrayBuffer, so onnxruntime-web's threads) and what lets other sites
# embed the worker from here: its module, runtime and models load over CORS.
ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
EVERYWHERE = {
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def for_path(relative: str, isolated: bool = True) -> dict[str, str]:
    """The headers for one file of the site, by its path from the site's root ("" for the root)."""
    headers = {**(ISOLATION if isolated else {}), **EVERYWHERE}
    if relative in WORKER_SCRIPTS:
        headers["Content-Security-Policy"] = WORKER_POLICY
    elif relative == SERVICE_WORKER:
        headers["Content-Security-Policy"] = SERVICE_WORKER_POLICY
    elif relative == ZIP_WORKER:
        headers["Content-Security-Policy"] = ZIP_WORKER_POLICY
    elif relative in ("", "index.html"):  # the site's one page (a test's or bench's own pages are theirs)
        headers["Content-Security-Policy"] = PAGE_POLICY
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
    return headers


def headers_file() -> str:
    """The `_headers` file of the exported site: each rule applies to the paths it matches, all together."""
    def block(pattern: str, headers: dict[str, str]) -> str:
        return pattern + "\n" + "".join(f"  {name}: {value}\n" for name, value in headers.items())

    page = {name: value for name, value in for_path("index.html").items() if name not in {**ISOLATION, **EVERYWHERE}}
    rules = [block("/*", {**ISOLATION, **EVERYWHERE}), block("/", page), block("/index.html", page)]
    rules += [block(f"/{script}", {"Content-Security-Policy": WORKER_POLICY}) for script in WORKER_SCRIPTS]
    rules.append(block(f"/{SERVICE_WORKER}", {"Content-Security-Policy": SERVICE_WORKER_POLICY}))
    rules.append(block(f"/{ZIP_WORKER}", {"Content-Security-Policy": ZIP_WORKER_POLICY}))
    return "\n".join(rules)
