"""The options of one request, validated in one place for every entry point."""
from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, fields

from . import errors
from .errors import BgRemoveError
from .formats import OUTPUT_FORMATS, OutputFormat, output_format_name
from .models import DEFAULT_MODEL, MODELS
from .postprocess import EDGE_COLOURS, OUTPUTS, REFINE_METHODS
from .preprocess import RESIZE_POLICIES

# "auto" picks the best device the host has: webgpu, else wasm in the browser; cpu under CPython.
BROWSER_DEVICES = ("auto", "webgpu", "wasm")
DEVICES = (*BROWSER_DEVICES, "cpu")
# Quality presets: what each sets, unless the request sets that knob itself.
# fast is the reference pipeline exactly (squash, its bilinear, the photo's colours).
PRESETS = {
    "fast": {"resize": "squash", "refine": "none", "edge_colour": "photo", "crop_pass": "off"},
    "balanced": {"resize": "fit", "refine": "guided", "edge_colour": "estimate", "crop_pass": "off"},
    # The crop pass is in no preset: on the evaluation set it does not pay (docs/eval.md, README).
    "best": {"resize": "fit", "refine": "matting", "edge_colour": "estimate", "crop_pass": "off"},
}
CROP_PASS = ("off", "on")
# What a cut-out can be put on besides a colour ("#rrggbb"): the photo blurred, or an image the request
# carries (its `backdrop`). Without one it stays transparent (JPEG: white).
BACKGROUNDS = ("blur", "image")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_PRESET = "balanced"
# Knobs by their names before 0.2 (the README documented them), still accepted: name -> (new name, values).
DEPRECATED = {
    "upsample": ("refine", {"bilinear": "none", "guided": "guided", "matte": "matting"}),
    "foreground": ("edge_colour", {"photo": "photo", "estimate": "estimate"}),
}


@dataclass(frozen=True)
class Options:
    model: str = DEFAULT_MODEL
    output: str = "foreground"   # foreground | background | mask
    format: str = "png"          # png | webp | jpeg
    quality: float = 0.9         # 0..1, for webp and jpeg
    device: str = "auto"
    preset: str = DEFAULT_PRESET
    resize: str | None = None      # squash | letterbox | fit (default: the preset's)
    refine: str | None = None      # none | guided | matting: how the mask's uncertain edge is re-estimated
    edge_colour: str | None = None  # photo | estimate: colour of semi-transparent edge pixels
    crop_pass: str | None = None   # off | on: the model on a small subject's box alone (crop.py)
    background: str | None = None  # "#rrggbb" | "blur" | "image": what the cut-out is put on (BACKGROUNDS)
    threshold: float = 0.5         # 0..1: where the edge falls; lower keeps more (postprocess.adjust_alpha)
    softness: float = 1.0          # 0..1: how soft the edge is; 1 as the model says, 0 a hard cut

    def knob(self, name: str) -> str:
        """A refinement setting: the request's own, else its preset's."""
        return getattr(self, name) or PRESETS[self.preset][name]

    @property
    def background_rgb(self) -> tuple[int, int, int] | None:
        """The background's colour, when it is one."""
        return tuple(bytes.fromhex(self.background[1:])) if _COLOUR.fullmatch(str(self.background)) else None

    @property
    def output_format(self) -> OutputFormat:
        return OUTPUT_FORMATS[self.format]

    @classmethod
    def parse(cls, raw: Mapping | None) -> Options:
        """Build from a plain mapping (a JS object's dict, CLI args), rejecting anything unknown."""
        raw = dict(raw or {})
        for old, (new, values) in DEPRECATED.items():
            if raw.get(old) is not None:
                warnings.warn(f"Option {old!r} is now {new!r}.", DeprecationWarning, stacklevel=2)
                value = raw.pop(old)
                raw.setdefault(new, values.get(value, value))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise _bad(f"Unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}.")
        values = {k: v for k, v in raw.items() if v is not None}
        values["format"] = output_format_name(values.get("format", cls.format))
        options = cls(**values)
        options._check()
        return options

    def _check(self) -> None:
        _one_of("model", self.model, MODELS)
        _one_of("output", self.output, OUTPUTS)
        _one_of("format", self.format, OUTPUT_FORMATS)
        _one_of("device", self.device, DEVICES)
        _one_of("preset", self.preset, PRESETS)
        for name, allowed in (("resize", RESIZE_POLICIES), ("refine", REFINE_METHODS),
                              ("edge_colour", EDGE_COLOURS), ("crop_pass", CROP_PASS)):
            if getattr(self, name) is not None:
                _one_of(name, getattr(self, name), allowed)
        if self.background is not None and self.background not in BACKGROUNDS \
                and not _COLOUR.fullmatch(str(self.background)):
            raise _bad(f"Option 'background' must be a colour like '#1e90ff', 'blur' or 'image', "
                       f"not {self.background!r}.")
        for name in ("quality", "threshold", "softness"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise _bad(f"Option {name!r} must be a number from 0 to 1, not {value!r}.")


def _one_of(name: str, value, allowed) -> None:
    if value not in allowed:
        raise _bad(f"Option {name!r} must be one of {', '.join(allowed)}, not {value!r}.")


def _bad(message: str) -> BgRemoveError:
    return BgRemoveError(errors.BAD_OPTION, message)
