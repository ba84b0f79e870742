"""A second visit works with the server gone: the page from its service worker, the engine from Cache Storage."""
import time

import pytest

from conftest import App, serving

pytestmark = pytest.mark.browser


def started(app: App, query: str) -> float:
    """Seconds from navigation to a ready engine."""
    t0 = time.perf_counter()
    app.open(query)
    return time.perf_counter() - t0


def test_a_second_visit_works_offline_and_starts_from_the_cache(chromium, images):
    context = chromium.new_context()  # a fresh profile: nothing cached yet
    try:
        with serving() as (server, url):
            app = App(context.new_page(), url)
            cold = started(app, "?model=u2netp")
            assert app.submit([images / "coffee.png"])[0]["state"] == "done"
            app.page.evaluate("navigator.serviceWorker.ready")
            warm = started(app, "?model=u2netp")

            server.shutdown()
            server.server_close()  # connections are refused from now on
            offline = started(app, "?model=u2netp")
            card = app.submit([images / "chelsea.png"])[0]
            assert card["state"] == "done", card["status"]
            assert "u2netp" in card["meta"]
            assert not app.errors, app.errors
            print(f"start: cold {cold:.2f} s, warm (cached) {warm:.2f} s, offline {offline:.2f} s")
    finally:
        context.close()
