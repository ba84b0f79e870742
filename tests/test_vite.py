"""A site built with a bundler works with no configuration: tests/vite-app, built by Vite, run in Chromium.

The app bundles static/client/remover.js (and the shared/rpc.js it imports) into its own code (copied in, as a site would vendor it) and
names the asset host with assetsUrl; the worker, runtime and models come from the app server on
another origin. No vite.config is written: whatever Vite does by default must work.
"""
import shutil
import subprocess

import pytest

from conftest import BOOT_TIMEOUT_MS, RESULT_TIMEOUT_MS, ROOT, serving
from tools import fixtures, headers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def vite_site(tmp_path_factory, server):
    app = fixtures.vite_app()
    for stale in ("index.html", "src", "dist", "vite.config.js"):
        target = app / stale
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    shutil.copy(fixtures.VITE_APP / "index.html", app / "index.html")
    shutil.copytree(fixtures.VITE_APP / "src", app / "src")
    (app / "src" / "bgremove").mkdir()
    for folder in ("client", "shared"):
        shutil.copytree(ROOT / "static" / folder, app / "src" / "bgremove" / folder)
    dist = tmp_path_factory.mktemp("vite") / "dist"
    result = subprocess.run([str(app / "node_modules" / ".bin" / "vite"), "build", "--outDir", str(dist)],
                            cwd=app, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # Under the strict policy of a site that embeds the remover (tools/headers.py).
    with serving("localhost", served=("index.html", "assets/"), root=dist,
                 headers_for=headers.another_site(server.rstrip("/"))) as (_, url):
        yield dist, url


def test_a_vite_built_site_removes_a_background(vite_site, chromium, server, images):
    dist, url = vite_site
    bundles = list((dist / "assets").glob("*.js"))
    assert len(bundles) == 1 and "RemovalError" in bundles[0].read_text(), "remover.js is inside the site's bundle"
    assert not list(dist.rglob("remover.js")) and not list(dist.rglob("*worker*.js")), "nothing copied beside it"

    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{url}?assets={server}static/")
        # Locators, not wait_for_function, whose predicate is eval'd: the policy forbids eval.
        page.locator("#status:not(:text-is('Starting…'))").wait_for(timeout=BOOT_TIMEOUT_MS)
        assert page.text_content("#status") == "Ready."
        page.set_input_files("#file", images / "coffee.png")
        page.locator("#status", has_text="Done").wait_for(timeout=RESULT_TIMEOUT_MS)
        assert page.text_content("#status") == "Done: 600×400, u2netp on wasm."
        assert page.evaluate("document.getElementById('result').decode().then(() => true)")
        assert not errors, errors
    finally:
        page.close()
