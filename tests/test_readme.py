"""The README's embedding example, run exactly as written, so it cannot drift from the code."""
import base64
import re

import pytest

from conftest import ROOT, rgba_of

pytestmark = pytest.mark.browser

MARKER = "<!-- example: embedding -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    assert text.count(MARKER) == 1
    match = re.match(r"\s*```js\n(.*?)```", text.split(MARKER, 1)[1], re.S)
    assert match, "the marker is followed by a js code block"
    return match.group(1)


def test_the_readme_embedding_example_runs_as_written(app, images):
    page = app.page
    # Served beside index.html, where the example's "./static/client/remover.js" resolves.
    page.route("**/readme-example.js", lambda route: route.fulfill(
        body=readme_example(), content_type="text/javascript", headers={"Cache-Control": "no-store"}))
    logged = []
    page.on("console", lambda message: logged.append(message.text))
    try:
        result = page.evaluate("""async (png) => {
            const example = await import("/readme-example.js");
            const file = new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], "cup.png", { type: "image/png" });
            const blob = await example.cutOut(file, new AbortController().signal);
            example.stop();
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let text = "";
            for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            return btoa(text);
        }""", base64.b64encode((images / "coffee.png").read_bytes()).decode())
    finally:
        page.unroute("**/readme-example.js")
    out = rgba_of(base64.b64decode(result))
    assert out.shape == (400, 600, 4)
    assert out[..., 3].min() == 0 and out[..., 3].max() == 255, "a real cut-out, with transparent and opaque parts"
    assert any(line.startswith("600×400, u2netp on wasm") for line in logged), logged
    assert "model 4574861 4574861" in logged, "the start-up progress reached the model"


def block_after(marker: str) -> str:
    match = re.match(r"\s*```\n(.*?)```", (ROOT / "README.md").read_text().split(marker, 1)[1], re.S)
    assert match, f"{marker} is followed by a code block"
    return match.group(1)


def test_the_readme_gives_the_headers_the_build_writes_and_what_embedding_needs():
    from tools import headers

    assert block_after("<!-- headers -->") == headers.headers_file()
    assert block_after("<!-- embedding policy -->") == headers.policy(headers.embedding("https://assets.example")) + "\n"
