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


@pytest.mark.parametrize("model,photos", [("u2netp", ["coffee.png", "astronaut.png"]),
                                          ("isnet-medium", ["coffee.png"])])
def test_browser_matches_native(app, images, native, model, photos, record_property):
    app.set(model=model)
    cards = app.submit([images / name for name in photos])
    for name, card in zip(photos, cards):
        assert card["state"] == "done", card["status"]
        data = (images / name).read_bytes()
        expected = native(lambda r: r.remove(data, {"model": model})).image
        difference = mean_alpha_difference(card["bytes"], expected)
        record_property(f"{model}/{name}", difference)
        print(f"parity {model} {name}: mean |alpha difference| = {difference * 255:.4f}/255")
        assert difference <= TOLERANCE
