"""The browser path (Pyodide + onnxruntime-web) against the native path (CPython + onnxruntime).

Same photo, same model: the alpha channels must agree to within 2/255 on average.
This catches any layout, normalisation or resize slip in the browser glue.
"""
import numpy as np
import pytest

from conftest import rgba_of

pytestmark = pytest.mark.browser
TOLERANCE = 2 / 255


def mean_alpha_difference(browser_png: bytes, native_png: bytes) -> float:
    browser, native = rgba_of(browser_png), rgba_of(native_png)
    assert browser.shape == native.shape
    return float(np.abs(browser[..., 3].astype(float) - native[..., 3]).mean() / 255)


@pytest.mark.parametrize("model,preset,photos", [("u2netp", "balanced", ["coffee.png", "astronaut.png"]),
                                                 ("u2netp", "fast", ["coffee.png"]),
                                                 ("u2netp", "best", ["astronaut.png"]),
                                                 ("isnet-medium", "balanced", ["coffee.png"])])
def test_browser_matches_native(app, images, native, model, preset, photos):
    app.set(model=model, preset=preset)
    cards = app.submit([images / name for name in photos])
    app.set(preset="balanced")
    for name, card in zip(photos, cards):
        assert card["state"] == "done", card["status"]
        data = (images / name).read_bytes()
        expected = native(lambda r: r.remove(data, {"model": model, "preset": preset})).image
        difference = mean_alpha_difference(card["bytes"], expected)
        print(f"parity {model} {preset} {name}: mean |alpha difference| = {difference * 255:.4f}/255")
        assert difference <= TOLERANCE
