"""The whole pipeline under CPython (Pillow + onnxruntime), on real photographs."""
import io

import numpy as np
import pytest
from PIL import Image

import claims
from bgremove import BgRemoveError, Remover, pipeline
from bgremove.hosts.native import NativeHost
from conftest import rgba_of


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
    """fast = squash, the reference's bilinear, the photo's own colours: every RGB value that shows is
    unchanged, however faint (the PNG is not premultiplied); where alpha is 0, black."""
    data = (images / "coffee.png").read_bytes()
    out = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "preset": "fast"})).image)
    seen = out[..., 3] > 0
    assert np.array_equal(out[seen][:, :3], rgba_of(data)[seen][:, :3]) and not out[~seen][:, :3].any()
    assert ((out[..., 3] > 0) & (out[..., 3] < 32)).sum() > 100, "faint edge pixels are there to check"


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


@pytest.mark.parametrize("fmt,width,height", [
    (fmt, width, height) for fmt in claims.FORMATS
    for width, height in ((8000, 6000), (16384, 16384), (60000, 60000), claims.LARGEST[fmt])
    if (width, height) <= claims.LARGEST[fmt]])
def test_a_header_over_the_limit_is_refused_before_any_decoding(run, fmt, width, height):
    host = NativeHost()
    host.decode = None  # called, it would fail with a TypeError, not too_large
    with pytest.raises(BgRemoveError) as caught:
        run(Remover(host).remove(claims.claiming(fmt, width, height), {"model": "u2netp"}))
    assert caught.value.code == "too_large" and f"{width}x{height}" in caught.value.message


@pytest.mark.parametrize("fmt", (*claims.CHECKED_ENDS, "JPEG"))
def test_a_truncated_file_is_corrupt_and_trailing_padding_is_not(native, fmt):
    data = claims.photo_file(fmt)
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(data[: len(data) // 3], {"model": "u2netp", "preset": "fast"}))
    assert caught.value.code == "corrupt_image", caught.value.message
    result = native(lambda r: r.remove(data + bytes(100), {"model": "u2netp", "preset": "fast"}))
    assert (result.width, result.height) == (96, 64)


def test_pixels_over_the_limit_are_refused_before_the_model(native, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_PIXELS", 100 * 100)
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove_pixels(np.zeros((100, 101, 4), np.uint8), {"model": "u2netp"}))
    assert caught.value.code == "too_large" and "101x100" in caught.value.message


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


class TwoDeviceHost:
    """The native host presented as a browser's: "webgpu" first, "wasm" last, both real onnxruntime sessions.

    failing names where "webgpu" breaks: "load" (session creation) or "run" (inference).
    """
    devices = ("webgpu", "wasm")
    unavailable: dict = {}

    def __init__(self, failing: str | None = None):
        from bgremove.hosts.native import NativeHost

        self.native, self.failing, self.created, self.released = NativeHost(), failing, [], []

    def __getattr__(self, name):
        return getattr(self.native, name)

    async def create_session(self, spec, device, progress):
        if device == "webgpu" and self.failing == "load":
            raise RuntimeError("no adapter today")
        self.created.append(device)
        return device, await self.native.create_session(spec, device, progress)

    async def release_session(self, session):
        self.released.append(session[0])

    async def infer(self, session, spec, tensor):
        if session[0] == "webgpu" and self.failing == "run":
            raise RuntimeError("device lost")
        return await self.native.infer(session[1], spec, tensor)


@pytest.mark.parametrize("failing", ["load", "run"])
def test_a_failing_device_falls_back_to_the_last_one_and_says_why(images, run, failing):
    from bgremove import Remover

    host = TwoDeviceHost(failing)
    remover = Remover(host)
    data = (images / "coffee.png").read_bytes()
    first = run(remover.remove(data, {"model": "u2netp"}))
    second = run(remover.remove(data, {"model": "u2netp", "device": "webgpu"}))
    assert first.device == second.device == "wasm"
    reason = "no adapter today" if failing == "load" else "device lost"
    assert first.fallback["from"] == second.fallback["from"] == "webgpu"
    assert reason in first.fallback["reason"] and second.fallback == first.fallback
    # webgpu was tried once; a broken session was released; the model's release forgets the failure.
    assert host.created == (["wasm"] if failing == "load" else ["webgpu", "wasm"])
    assert host.released == ([] if failing == "load" else ["webgpu"])
    assert run(remover.release("u2netp")) == ["u2netp"] and not remover._failed
    with pytest.raises(BgRemoveError) as caught:
        run(remover.remove(b"not an image", {"model": "u2netp"}))
    assert caught.value.code == "not_an_image", "errors of the image itself are not device failures"


def test_sessions_are_kept_per_model_and_device(images, run):
    from bgremove import Remover

    host = TwoDeviceHost()
    data = (images / "coffee.png").read_bytes()
    remover = Remover(host)
    assert run(remover.remove(data, {"model": "u2netp"})).device == "webgpu"
    assert run(remover.remove(data, {"model": "u2netp", "device": "wasm"})).fallback is None
    assert remover.loaded_sessions == [("u2netp", "wasm")] and host.released == ["webgpu"]
    keeping = Remover(TwoDeviceHost(), keep_models=True)
    for device in ("webgpu", "wasm"):
        run(keeping.session("u2netp", device))
    assert keeping.loaded_sessions == [("u2netp", "wasm"), ("u2netp", "webgpu")]
    assert run(keeping.release("u2netp", "webgpu")) == ["u2netp"] and keeping.loaded_sessions == [("u2netp", "wasm")]


def test_the_crop_pass_locates_with_u2netp_and_runs_the_model_on_the_box_alone(images, run, monkeypatch):
    from bgremove import Remover, crop
    from bgremove.hosts.native import NativeHost

    class Recording(NativeHost):
        def __init__(self):
            super().__init__()
            self.seen = []

        async def infer(self, session, spec, tensor):
            self.seen.append(spec.id)
            return await super().infer(session, spec, tensor)

    boxes = []
    monkeypatch.setattr(crop, "paste", lambda alpha, inner, box: boxes.append(box) or pipeline.np.array(alpha))
    photo = Image.new("RGB", (1600, 1200), (200, 196, 188))
    photo.paste(Image.open(images / "astronaut.png").convert("RGB").resize((300, 300)), (1200, 800))
    small = io.BytesIO()
    photo.save(small, "PNG")
    host = Recording()
    remover = Remover(host)
    run(remover.remove(small.getvalue(), {"model": "isnet-small", "preset": "best", "crop_pass": "on"}))
    assert host.seen == ["u2netp", "isnet-small"] and len(boxes) == 1
    y0, y1, x0, x1 = boxes[0]
    assert y0 <= 800 < 1100 <= y1 and x0 <= 1200 < 1500 <= x1, "the box holds the subject (at 1200..1500, 800..1100)"
    assert (y1 - y0) * (x1 - x0) < 0.25 * 1600 * 1200
    assert remover.loaded_models == ["isnet-small", "u2netp"], "the locator stays loaded beside the model"
    host.seen.clear()
    run(remover.remove((images / "astronaut.png").read_bytes(), {"model": "isnet-small", "preset": "best", "crop_pass": "on"}))
    assert host.seen == ["u2netp", "isnet-small"] and len(boxes) == 1, "a large subject: the model sees the whole photo"


def test_missing_model_file_is_a_model_load_error(images, run, tmp_path):
    from bgremove import Remover
    from bgremove.hosts.native import NativeHost

    remover = Remover(NativeHost(models_dir=tmp_path))
    with pytest.raises(BgRemoveError) as caught:
        run(remover.remove((images / "coffee.png").read_bytes(), {"model": "u2netp"}))
    assert caught.value.code == "model_load_failed" and "build.py" in caught.value.message


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


@pytest.mark.parametrize("name", claims.variants())
def test_every_kind_of_file_the_readme_says_is_read_is_cut_out(native, name):
    data, size = claims.variants()[name]
    result = native(lambda r: r.remove(data, {"model": "u2netp", "preset": "fast"}))
    assert (result.width, result.height) == size


def test_a_result_made_again_from_its_mask_runs_no_model_and_matches_a_fresh_run(images, native):
    data = (images / "coffee.png").read_bytes()
    first = native(lambda r: r.remove(data, {"model": "u2netp"}))
    assert first.mask.data.shape == (320, 320) and not first.reused
    again = native(lambda r: r.remove(data, {"model": "u2netp"}, mask=first.mask))
    assert again.reused and "inference" not in again.timings and "model" not in again.timings
    assert again.image == first.image
    best = native(lambda r: r.remove(data, {"model": "u2netp", "preset": "best"}, mask=first.mask))
    assert best.reused, "balanced and best fit the photo the same way, so the mask serves both"
    assert best.image == native(lambda r: r.remove(data, {"model": "u2netp", "preset": "best"})).image
    fast = native(lambda r: r.remove(data, {"model": "u2netp", "preset": "fast"}, mask=first.mask))
    assert not fast.reused and "inference" in fast.timings, "fast squashes the photo: the model runs again"


def test_sensitivity_moves_the_edge_without_the_model(images, native):
    data = (images / "coffee.png").read_bytes()
    first = native(lambda r: r.remove(data, {"model": "u2netp"}))
    plain = rgba_of(first.image)[..., 3]
    hard = native(lambda r: r.remove(data, {"model": "u2netp", "softness": 0, "threshold": 0.5}, mask=first.mask))
    alpha = rgba_of(hard.image)[..., 3]
    assert hard.reused and set(np.unique(alpha)) <= {0, 255}
    assert np.array_equal(alpha == 255, plain >= 128)
    more = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "threshold": 0.2}, mask=first.mask)).image)
    assert np.all(more[..., 3] >= plain) and (more[..., 3] > plain).mean() > 0.01


def test_the_cut_out_goes_on_the_photo_blurred_or_on_another_image(images, native):
    data = (images / "coffee.png").read_bytes()
    first = native(lambda r: r.remove(data, {"model": "u2netp"}))
    cut = rgba_of(first.image)
    clear = cut[..., 3] == 0
    on_blur = rgba_of(native(lambda r: r.remove(data, {"model": "u2netp", "background": "blur"}, mask=first.mask)).image)
    photo = rgba_of(data)
    assert np.all(on_blur[..., 3] == 255)
    assert np.abs(on_blur[clear][:, :3].astype(int) - photo[clear][:, :3]).mean() > 3, "the background is blurred"
    backdrop = (images / "astronaut.png").read_bytes()
    on_image = native(lambda r: r.remove(data, {"model": "u2netp", "background": "image"}, mask=first.mask,
                                         backdrop=backdrop))
    from bgremove.backdrops import cover
    expected = cover(rgba_of(backdrop), 600, 400)
    assert np.array_equal(rgba_of(on_image.image)[clear][:, :3], expected[clear])
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(data, {"model": "u2netp", "background": "image"}))
    assert caught.value.code == "bad_option"
    with pytest.raises(BgRemoveError) as caught:
        native(lambda r: r.remove(data, {"model": "u2netp", "background": "image"}, backdrop=b"text"))
    assert caught.value.code == "not_an_image" and "background image" in caught.value.message
