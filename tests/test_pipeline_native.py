"""The whole pipeline under CPython (Pillow + onnxruntime), on real photographs."""
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from bgremove import BgRemoveError, pipeline
from conftest import ROOT, rgba_of


def test_cutout_of_a_real_photo(images, native):
    data = (images / "coffee.png").read_bytes()
    result = native(lambda r: r.remove(data, {"model": "u2netp"}))
    out, source = rgba_of(result.image), rgba_of(data)
    assert result.mime == "image/png" and out.shape == source.shape == (400, 600, 4)
    alpha = out[..., 3]
    assert alpha[200, 300] > 240, "the cup is kept"
    assert max(alpha[0, 0], alpha[0, -1], alpha[-1, 0], alpha[-1, -1]) < 20, "the table is removed"
    opaque = alpha == 255
    assert np.array_equal(out[opaque][:, :3], source[opaque][:, :3]), "the subject's colours are untouched"
    assert set(result.timings) == {"decode", "model", "preprocess", "inference", "postprocess", "encode"}


def test_fast_preset_is_the_reference_pipeline(images, native):
    """fast = squash, the reference's bilinear, the photo's own colours: every RGB value unchanged."""
    data = (images / "coffee.png").read_bytes()
    out = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "preset": "fast"})).image)
    assert np.array_equal(out[..., :3], rgba_of(data)[..., :3])


def test_outputs_and_formats(images, native):
    data = (images / "coffee.png").read_bytes()
    fg = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp"})).image)
    bg = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "output": "background"})).image)
    mask = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "output": "mask"})).image)
    assert np.array_equal(bg[..., 3], 255 - fg[..., 3])
    assert np.array_equal(mask[..., 0], fg[..., 3]) and np.all(mask[..., 3] == 255)
    jpeg = native(lambda r: r.remove(data, {"model": "u2netp", "format": "jpeg", "quality": 0.8}))
    assert jpeg.mime == "image/jpeg" and jpeg.image[:3] == b"\xff\xd8\xff"
    webp = native(lambda r: r.remove(data, {"model": "u2netp", "format": "webp"}))
    assert webp.image[8:12] == b"WEBP"


def test_exif_orientation_is_applied(images, native):
    photo = Image.open(images / "coffee.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes())
    result = native(lambda r: r.remove(buffer.getvalue(), {"model": "u2netp"}))
    assert (result.width, result.height) == (400, 600)


def truncated_png(images) -> bytes:
    data = (images / "coffee.png").read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize("make,code", [
    (lambda images: b"", "empty_input"),
    (lambda images: b"%PDF-1.7 not a picture", "not_an_image"),
    (truncated_png, "corrupt_image"),
])
def test_bad_input_gets_a_clear_error(images, native, make, code):
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(make(images), {"model": "u2netp"}))
    assert caught.value.code == code


def test_huge_images_are_refused_before_decoding(native, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_PIXELS", 100 * 100)
    buffer = io.BytesIO()
    Image.new("L", (200, 100)).save(buffer, "PNG")
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(buffer.getvalue(), {"model": "u2netp"}))
    assert caught.value.code == "too_large" and "200x100" in caught.value.message


def test_sessions_are_reused_and_released(images, native):
    data = (images / "coffee.png").read_bytes()

    async def scenario(remover):
        await remover.release()
        first = await remover.session("u2netp")
        await remover.remove(data, {"model": "u2netp"})
        assert await remover.session("u2netp") is first
        assert remover.loaded_models == ["u2netp"]
        return await remover.release("u2netp"), remover.loaded_models, await remover.release("u2netp")

    assert native(scenario) == (["u2netp"], [], [])


def test_switching_models_releases_the_previous_session_unless_asked_to_keep_it(run):
    from bgremove import Remover
    from bgremove.hosts.native import NativeHost

    async def switch(remover):
        await remover.session("u2netp")
        await remover.session("isnet-small")
        loaded = remover.loaded_models
        await remover.release()
        return loaded

    assert run(switch(Remover(NativeHost()))) == ["isnet-small"]
    assert run(switch(Remover(NativeHost(), keep_models=True))) == ["isnet-small", "u2netp"]


def test_missing_model_file_is_a_model_load_error(images, run, tmp_path):
    from bgremove import Remover
    from bgremove.hosts.native import NativeHost

    remover = Remover(NativeHost(models_dir=tmp_path))
    with pytest.raises(BgRemoveError) as caught:
        run(remover.remove((images / "coffee.png").read_bytes(), {"model": "u2netp"}))
    assert caught.value.code == "model_load_failed" and "build.py" in caught.value.message


def test_command_line(images, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    run = subprocess.run([sys.executable, "-m", "bgremove", str(images / "coffee.png"), str(bad),
                          "-o", str(tmp_path / "out"), "--model", "u2netp"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1, "one input failed"
    assert "notes.txt: error [not_an_image]" in run.stderr
    out = rgba_of((tmp_path / "out" / "coffee.png").read_bytes())
    assert out.shape == (400, 600, 4) and out[0, 0, 3] < 20


def test_model_table_matches_the_lock():
    from bgremove.models import MODELS

    lock = json.loads((ROOT / "assets.lock.json").read_text())["models"]
    assert set(lock) == set(MODELS)
    for model_id, spec in MODELS.items():
        assert lock[model_id]["file"] == spec.file and lock[model_id]["licence"] == spec.licence


def test_decoded_pixels_and_a_background_colour(images, native):
    data = (images / "coffee.png").read_bytes()
    pixels = rgba_of(data)
    from_bytes = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp"})).image)
    from_pixels = native(lambda r: r.remove_pixels(pixels, {"model": "u2netp"}))
    assert "decode" not in from_pixels.timings
    assert np.array_equal(rgba_of(from_pixels.image), from_bytes)
    on_blue = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "background": "#1e90ff"})).image)
    assert np.all(on_blue[..., 3] == 255) and on_blue[0, 0, :3].tolist() == [30, 144, 255]
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(data, {"background": "blue"}))
    assert caught.value.code == "bad_option"
