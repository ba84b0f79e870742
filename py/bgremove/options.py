"""The options of one request, validated in one place for every entry point."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from . import errors
from .errors import BgRemoveError
from .models import DEFAULT_MODEL, MODELS
from .postprocess import FOREGROUND_METHODS, OUTPUTS, UPSAMPLE_METHODS
from .preprocess import RESIZE_POLICIES

FORMATS = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
# "auto" picks the best device the host has: webgpu, else wasm in the browser; cpu under CPython.
DEVICES = ("auto", "webgpu", "wasm", "cpu")
# Quality presets: what each sets, unless the request sets that knob itself.
# fast is the reference pipeline exactly (squash, its bilinear, the photo's colours).
PRESETS = {
    "fast": {"resize": "squash", "upsample": "bilinear", "foreground": "photo", "crop_pass": "off"},
    "balanced": {"resize": "fit", "upsample": "guided", "foreground": "estimate", "crop_pass": "off"},
    # The crop pass is in no preset: on the evaluation set it does not pay (docs/eval.md, README).
    "best": {"resize": "fit", "upsample": "matte", "foreground": "estimate", "crop_pass": "off"},
}
CROP_PASS = ("off", "on")
DEFAULT_PRESET = "balanced"


@dataclass(frozen=True)
class Options:
    model: str = DEFAULT_MODEL
    output: str = "foreground"   # foreground | background | mask
    format: str = "png"          # png | webp | jpeg
    quality: float = 0.9         # 0..1, for webp and jpeg
    device: str = "auto"
    preset: str = DEFAULT_PRESET
    resize: str | None = None      # squash | letterbox | fit (default: the preset's)
    upsample: str | None = None    # bilinear | guided | matte: how the mask's edge reaches full size
    foreground: str | None = None  # photo | estimate: colour of semi-transparent edge pixels
    crop_pass: str | None = None   # off | on: the model on a small subject's box alone (crop.py)
    background: str | None = None  # "#rrggbb": composite the cut-out over this colour

    def knob(self, name: str) -> str:
        """A refinement setting: the request's own, else its preset's."""
        return getattr(self, name) or PRESETS[self.preset][name]

    @property
    def background_rgb(self) -> tuple[int, int, int] | None:
        return None if self.background is None else tuple(bytes.fromhex(self.background[1:]))

    @property
    def mime(self) -> str:
        return FORMATS[self.format]

    @classmethod
    def parse(cls, raw: Mapping | None) -> Options:
        """Build from a plain mapping (a JS object's dict, CLI args), rejecting anything unknown."""
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise _bad(f"Unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}.")
        values = {k: v for k, v in raw.items() if v is not None}
        fmt = str(values.get("format", cls.format)).lower().removeprefix("image/")
        values["format"] = "jpeg" if fmt == "jpg" else fmt
        options = cls(**values)
        options._check()
        return options

    def _check(self) -> None:
        _one_of("model", self.model, MODELS)
        _one_of("output", self.output, OUTPUTS)
        _one_of("format", self.format, FORMATS)
        _one_of("device", self.device, DEVICES)
        _one_of("preset", self.preset, PRESETS)
        for name, allowed in (("resize", RESIZE_POLICIES), ("upsample", UPSAMPLE_METHODS),
                              ("foreground", FOREGROUND_METHODS), ("crop_pass", CROP_PASS)):
            if getattr(self, name) is not None:
                _one_of(name, getattr(self, name), allowed)
        if self.background is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(self.background)):
            raise _bad(f"Option 'background' must be a colour like '#1e90ff', not {self.background!r}.")
        if isinstance(self.quality, bool) or not isinstance(self.quality, (int, float)) or not 0 <= self.quality <= 1:
            raise _bad(f"Option 'quality' must be a number from 0 to 1, not {self.quality!r}.")


def _one_of(name: str, value, allowed) -> None:
    if value not in allowed:
        raise _bad(f"Option {name!r} must be one of {', '.join(allowed)}, not {value!r}.")


def _bad(message: str) -> BgRemoveError:
    return BgRemoveError(errors.BAD_OPTION, message)
