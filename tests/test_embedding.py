"""examples/embed.html: another site, on its own origin, embedding the worker from the app's origin."""
import pytest

from conftest import LISTEN_FOR_VIOLATIONS, App, serving
from tools.serve import example_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def another_site(chromium, server):
    # localhost vs 127.0.0.1: a different origin even on the same machine.
    with serving("localhost", **example_site(server.rstrip("/"))) as (_, site):
        page = chromium.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Under the policy such a page needs (tools/headers.py), with nothing to spare: the engine's
        # workers run under it too, from blob: modules, so a violation there would stop them.
        page.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.goto(f"{site}?assets={server}static/")
        page.wait_for_selector("body[data-ready]", timeout=120_000)
        yield page
        assert not errors, errors
        assert page.evaluate("self.__violations") == []
        page.close()


def pick(page, name, mime, data, state):
    page.set_input_files("#file", {"name": name, "mimeType": mime, "buffer": data})
    page.wait_for_selector(f"body[data-state={state}]", timeout=120_000)
    return page.text_content("#status")


def test_another_origin_runs_the_worker_with_threads(another_site, server, images):
    assert not server.startswith(another_site.url.split("/?")[0])
    threads = another_site.evaluate("navigator.hardwareConcurrency")
    assert another_site.text_content("#status") == f"Ready, {threads} thread(s).", "isolated, so threaded"
    status = pick(another_site, "cup.png", "image/png", (images / "coffee.png").read_bytes(), "done")
    assert status.startswith("Done: 600×400 on wasm")
    log = another_site.text_content("#log")
    assert "start: model 4574861/4574861" in log, "the model came while the engine booted"
    assert "download" not in log and "inference" in log


def test_bad_input_cancellation_and_dispose(another_site, images):
    cup = (images / "coffee.png").read_bytes()
    assert "not an image" in pick(another_site, "notes.txt", "text/plain", b"hello", "not_an_image")
    another_site.set_input_files("#file", {"name": "cup.png", "mimeType": "image/png", "buffer": cup})
    another_site.click("#cancel")
    another_site.wait_for_selector("body[data-state=aborted]", timeout=60_000)
    assert another_site.text_content("#status").startswith("AbortError (aborted)")
    assert pick(another_site, "cup.png", "image/png", cup, "done").startswith("Done"), "still usable"
    another_site.click("#dispose")
    assert pick(another_site, "cup.png", "image/png", cup, "disposed").startswith("RemovalError (disposed)")


def test_the_example_host_serves_only_the_examples(another_site):
    base = another_site.url.split("/?")[0]
    for path, status in (("/", 200), ("/examples/embed.html", 200), ("/worker.js", 404), ("/static/client/remover.js", 404)):
        assert another_site.request.get(base + path).status == status, path


def test_a_page_that_is_not_isolated_runs_on_one_thread_and_says_why(chromium, images):
    with serving(isolated=False) as (_, url):
        page = chromium.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        app = App(page, url).open("?model=u2netp")
        assert page.evaluate("crossOriginIsolated") is False
        assert "1 thread (the page is not cross-origin isolated)" in page.text_content("#engine")
        assert any("running on 1 thread" in line and "Cross-Origin-Embedder-Policy" in line for line in console)
        card = app.submit([images / "coffee.png"])[0]
        assert card["state"] == "done", card["status"]
        assert not app.errors, app.errors
        page.close()
