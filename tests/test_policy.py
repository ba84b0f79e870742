"""The app under its own security policy (tools/headers.py, sent by the server every browser test uses),
and what it sends over the network: its own static files, nothing else, no image bytes."""
from urllib.parse import urlsplit

import pytest

from conftest import LISTEN_FOR_VIOLATIONS, App
from tools import assemble
from tools.assets import ROOT

pytestmark = pytest.mark.browser

def own_workers(page):
    """The engine's and the inference worker's scopes (onnxruntime's thread workers sit in Atomics.wait)."""
    return [worker for worker in page.workers if not worker.url.startswith("blob:")]


def test_a_batch_runs_under_the_policy_without_one_violation(chromium, server, images):
    page = chromium.new_page()
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    app = App(page, server).open("?model=u2netp")
    for worker in own_workers(page):
        worker.evaluate(LISTEN_FOR_VIOLATIONS)
    photos = [images / name for name in ("coffee.png", "astronaut.png", "chelsea.png")]
    app.set(format="webp")
    cards = app.submit(photos)
    app.set(model="isnet-small", format="jpeg", output="mask")  # a second model: its download and session
    cards += app.submit(photos[:1])
    app.set(model="u2netp", format="png", output="foreground", background="blur")
    assert [card["state"] for card in cards] == ["done"] * 4, [card["status"] for card in cards]
    # Download all starts the zip writer's worker; the second zip runs with its violations listened to.
    for _ in range(2):
        with page.expect_download():
            page.click("#download-all")
        for worker in own_workers(page):
            worker.evaluate(LISTEN_FOR_VIOLATIONS)
    violations = {"page": page.evaluate("__violations")}
    violations.update({worker.url: worker.evaluate("self.__violations") for worker in own_workers(page)})
    assert len(violations) == 4 and not any(violations.values()), violations
    assert not app.errors, app.errors
    page.close()


def test_the_only_requests_are_for_the_sites_own_files(chromium, server, images):
    context = chromium.new_context()  # nothing cached: every file is asked for
    requests, sockets = [], []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()
    page.on("websocket", lambda socket: sockets.append(socket))
    app = App(page, server).open("?model=u2netp")
    cards = app.submit([images / "coffee.png", images / "astronaut.png"])
    assert [card["state"] for card in cards] == ["done", "done"]
    site = {"", *(path.relative_to(ROOT).as_posix() for path in assemble.site_files())}
    origin = urlsplit(server)
    network = [r for r in requests if not r.url.startswith(("blob:", "data:"))]
    assert not sockets
    fetched = {urlsplit(r.url).path for r in network}
    # The workers' requests are recorded too: the engine's runtime, the inference worker's model.
    assert {"/static/vendor/pyodide/pyodide.asm.wasm", "/static/vendor/models/u2netp.onnx"} <= fetched, fetched
    for request in network:
        url = urlsplit(request.url)
        assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), request.url
        assert url.path.lstrip("/") in site, request.url
        assert request.method == "GET" and request.post_data_buffer is None, request.url
        assert len(url.query) < 100, request.url  # settings only, such as ?model=u2netp
    local = [r.url for r in requests if r.url.startswith(("blob:", "data:"))]
    assert all(u.startswith(f"blob:{server.rstrip('/')}/") or u == "data:," for u in local), local
    context.close()
