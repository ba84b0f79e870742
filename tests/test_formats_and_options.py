import io

import pytest
from PIL import Image

from bgremove import BgRemoveError, Options
from bgremove.formats import dimensions, sniff


def encoded(fmt: str, size=(3, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt,name", [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("GIF", "gif"),
                                      ("BMP", "bmp"), ("TIFF", "tiff")])
def test_sniff_recognises_image_containers(fmt, name):
    assert sniff(encoded(fmt)) == name


@pytest.mark.parametrize("data,code", [(b"", "empty_input"), (b"hello, world", "not_an_image"),
                                       (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_format")])
def test_sniff_rejects_what_is_not_a_photo(data, code):
    with pytest.raises(BgRemoveError) as caught:
        sniff(data)
    assert caught.value.code == code and caught.value.message


def test_dimensions_come_from_the_header():
    assert dimensions(encoded("PNG", (640, 480))[:200], "png") == (640, 480)
    assert dimensions(b"not an image", "png") is None
    assert dimensions(b"\x00\x00\x00\x18ftypheic", "heic") is None, "a format Pillow does not read"


@pytest.mark.parametrize("mode,options", [("RGB", {"lossless": True}), ("RGB", {"quality": 80}),
                                          ("RGBA", {"quality": 80})])
def test_webp_dimensions_from_each_kind_of_header(mode, options):
    buffer = io.BytesIO()
    Image.new(mode, (123, 45)).save(buffer, "WEBP", **options)  # VP8L, VP8 and VP8X (with alpha)
    assert dimensions(buffer.getvalue(), "webp") == (123, 45)


def test_options_defaults_and_aliases():
    options = Options.parse(None)
    assert (options.model, options.output, options.format, options.device) == ("isnet-medium-q8", "foreground", "png", "auto")
    assert Options.parse({"format": "image/jpg"}).output_format.mime == "image/jpeg"
    assert Options.parse({"format": "PNG"}).format == "png"


@pytest.mark.parametrize("raw", [{"model": "nope"}, {"output": "alpha"}, {"format": "gif"}, {"quality": 2},
                                 {"quality": True}, {"colour": "red"}, {"device": "tpu"}])
def test_bad_options_name_the_problem(raw):
    with pytest.raises(BgRemoveError) as caught:
        Options.parse(raw)
    assert caught.value.code == "bad_option" and next(iter(raw)) in caught.value.message


def test_presets_set_each_knob_unless_the_request_does():
    fast, balanced = Options.parse({"preset": "fast"}), Options.parse(None)
    assert [fast.knob(k) for k in ("resize", "refine", "edge_colour", "crop_pass")] == \
        ["squash", "none", "photo", "off"]
    assert balanced.preset == "balanced" and balanced.knob("resize") == "fit"
    assert Options.parse({"preset": "best"}).knob("refine") == "matting"
    assert Options.parse({"preset": "best", "crop_pass": "on"}).knob("crop_pass") == "on"
    assert Options.parse({"preset": "fast", "resize": "letterbox"}).knob("resize") == "letterbox"


def test_the_knobs_old_names_are_still_accepted():
    with pytest.warns(DeprecationWarning) as warned:
        old = Options.parse({"preset": "fast", "upsample": "matte", "foreground": "estimate"})
    assert [str(w.message) for w in warned] == ["Option 'upsample' is now 'refine'.",
                                                "Option 'foreground' is now 'edge_colour'."]
    assert (old.knob("refine"), old.knob("edge_colour")) == ("matting", "estimate")
    with pytest.warns(DeprecationWarning):
        assert Options.parse({"upsample": "bilinear"}).knob("refine") == "none"


@pytest.mark.filterwarnings("ignore:Option 'upsample' is now:DeprecationWarning")
@pytest.mark.parametrize("raw", [{"preset": "ultra"}, {"resize": "stretch"}, {"refine": "bicubic"},
                                 {"edge_colour": "guess"}, {"crop_pass": "maybe"}, {"upsample": "bicubic"}])
def test_bad_refinement_options_are_refused(raw):
    with pytest.raises(BgRemoveError) as caught:
        Options.parse(raw)
    assert caught.value.code == "bad_option"
