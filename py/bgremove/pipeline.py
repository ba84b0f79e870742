"""decode -> preprocess -> infer -> postprocess -> encode, written once for every host.

A host supplies what differs between the browser and CPython: decoding,
encoding, model sessions and inference (see `Host`). Everything numeric lives
in preprocess / postprocess and runs the same on both.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import backdrops, crop, errors, formats, postprocess, preprocess
from .errors import BgRemoveError
from .formats import OutputFormat
from .models import MODELS, ModelSpec
from .options import Options

# About 40 megapixels (e.g. 7700 x 5200): enough for any camera photo, small
# enough that the working copies fit in a browser tab's wasm memory.
MAX_PIXELS = 40_000_000

# progress(stage, fraction done, bytes done, bytes total): the byte counts only for downloads.
Progress = Callable[..., None]


class Host(Protocol):
    devices: tuple[str, ...]    # the devices it can run a model on, best first: "auto" takes the first
    unavailable: dict[str, str]  # devices of its kind it cannot use here, and why

    def ends(self, data: Any, head: int, tail: int) -> tuple[bytes, bytes, int]:
        """The first `head` and the last `tail` bytes (fewer if it is shorter) of an encoded image, as
        remove() was given it, and its length."""

    async def decode(self, data: Any, fmt: str) -> np.ndarray:
        """An encoded image (bytes, or the host's own kind of buffer) -> (H, W, 4) uint8 RGBA, EXIF
        orientation applied."""

    async def encode(self, rgba: np.ndarray, fmt: OutputFormat, quality: float) -> tuple[Any, str]:
        """(H, W, 4) uint8 -> (encoded image, its actual MIME type)."""

    async def create_session(self, spec: ModelSpec, device: str, progress: Progress) -> Any:
        """Load a model for a device; report download progress as progress("download", fraction)."""

    async def release_session(self, session: Any) -> None:
        """Free everything the session holds."""

    async def infer(self, session: Any, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        """(1, 3, S, S) float32 -> the model's mask output as float32."""


@dataclass(frozen=True)
class ModelMask:
    """What the model said about a photo, kept so that its cut-out can be made again with other settings
    (refinement, sensitivity, background, format) without running the model: its (S, S) uint8 mask, and
    how the photo was fitted into the model's square."""
    model: str
    resize: str                  # the resize policy that made the model's input
    device: str                  # the device that ran the model
    data: np.ndarray             # (S, S) uint8

    def fits(self, opts: Options) -> bool:
        """Whether a request with these options would have made the same mask."""
        return (self.model == opts.model and self.resize == opts.knob("resize")
                and opts.knob("crop_pass") == "off")


@dataclass
class Result:
    image: Any                   # bytes under CPython, a Blob in the browser
    mime: str
    width: int
    height: int
    model: str
    device: str                  # the device that ran the model
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    fallback: dict | None = None  # {"from": device, "reason"}: the device wanted, and why it did not run
    mask: ModelMask | None = None  # to make this cut-out again with other settings (None after a crop pass)
    reused: bool = False           # made from a mask given with the request: the model did not run

    def meta(self) -> dict:
        return {"mime": self.mime, "width": self.width, "height": self.height, "model": self.model,
                "device": self.device, "fallback": self.fallback, "timings": self.timings, "reused": self.reused}


def _no_progress(stage: str, fraction: float, done: int | None = None, total: int | None = None) -> None:
    pass


# A failure on these codes, on a device that is not the host's last resort, is retried on that.
_DEVICE_FAILURES = (errors.MODEL_LOAD_FAILED, errors.INFERENCE_FAILED)


class Remover:
    """Removes backgrounds with one host.

    Sessions are kept per (model, device) until released, or until another one is used: loading
    a second releases the first, unless keep_models is set (a model can take a few hundred MB).
    When a model fails to load or run on a device other than the host's last (webgpu), the
    request is retried on the last (wasm), the failure is reported in the result's fallback, and
    later requests for that model go straight to the last device until the model is released.
    """

    def __init__(self, host: Host, keep_models: bool = False):
        self.host = host
        self.keep_models = keep_models
        self._sessions: dict[tuple[str, str], asyncio.Future] = {}
        self._failed: dict[tuple[str, str], str] = {}

    @property
    def loaded_models(self) -> list[str]:
        return sorted({model for model, _ in self._sessions})

    @property
    def loaded_sessions(self) -> list[tuple[str, str]]:
        return sorted(self._sessions)

    async def session(self, model: str, device: str | None = None, progress: Progress = _no_progress,
                      beside: str | None = None) -> Any:
        """The model's session on a device (the host's best by default), created on first use and shared.

        Loading it releases the other models' sessions (unless keep_models), except `beside`'s: a request
        that needs two models keeps both.
        """
        key = (model, device or self.host.devices[0])
        if key not in self._sessions:
            if not self.keep_models:
                for other in [k for k in self._sessions if k[0] != beside]:
                    await self._release(other)
            self._start(key, progress)
        try:
            return await self._sessions[key]
        except BaseException:
            self._sessions.pop(key, None)  # a failed load may be retried
            raise

    def prepare(self, model: str, device: str) -> None:
        """Start loading a session without waiting for it (a host's start-up model); session() shares it."""
        if (model, device) not in self._sessions:
            self._start((model, device), _no_progress)

    def _start(self, key: tuple[str, str], progress: Progress) -> None:
        self._sessions[key] = asyncio.ensure_future(self._create(MODELS[key[0]], key[1], progress))

    async def _create(self, spec: ModelSpec, device: str, progress: Progress) -> Any:
        try:
            return await self.host.create_session(spec, device, progress)
        except BgRemoveError:
            raise
        except Exception as error:
            raise BgRemoveError(errors.MODEL_LOAD_FAILED,
                                f"Could not load model {spec.id} on {device}: {error}") from error

    async def release(self, model: str | None = None, device: str | None = None) -> list[str]:
        """Release the sessions of one model (on one device, or all), or all sessions; returns the models released."""
        released = []
        for key in [k for k in self._sessions if model in (None, k[0]) and device in (None, k[1])]:
            if await self._release(key) and key[0] not in released:
                released.append(key[0])
        for key in [k for k in self._failed if model in (None, k[0])]:
            del self._failed[key]  # a released model gets a fresh chance on every device
        return released

    async def _release(self, key: tuple[str, str]) -> bool:
        future = self._sessions.pop(key, None)
        if future is None:
            return False
        try:
            session = await future
        except Exception:
            return False  # it never loaded, so there is nothing to free
        await self.host.release_session(session)
        return True

    async def preload(self, options: Options | Mapping | None = None, progress: Progress = _no_progress) -> str:
        """Load the request's model on its device (falling back as remove() would); returns the device."""
        opts = self._options(options)
        _, device, _ = await self._on_device(opts, progress, lambda device: self.session(opts.model, device, progress))
        return device

    def _devices(self, opts: Options) -> tuple[list[str], dict | None]:
        """The devices to try, in order, and the fallback known before trying (the wanted device is unusable)."""
        host = self.host
        wanted = host.devices[0] if opts.device == "auto" else opts.device
        fallback = None
        if opts.device == "auto" and host.unavailable:
            device, reason = next(iter(host.unavailable.items()))
            fallback = {"from": device, "reason": reason}
        if wanted not in host.devices:
            fallback = {"from": wanted, "reason": host.unavailable[wanted]}
            wanted = host.devices[-1]
        if (opts.model, wanted) in self._failed:
            fallback = {"from": wanted, "reason": self._failed[(opts.model, wanted)]}
            wanted = host.devices[-1]
        return [wanted] if wanted == host.devices[-1] else [wanted, host.devices[-1]], fallback

    async def _on_device(self, opts: Options, report: Progress, work: Callable[[str], Awaitable[Any]]):
        """work(device) on the request's device; where that fails, again on the host's last device."""
        devices, fallback = self._devices(opts)
        for device in devices:
            try:
                return await work(device), device, fallback
            except BgRemoveError as error:
                if device == devices[-1] or error.code not in _DEVICE_FAILURES:
                    raise
                self._failed[(opts.model, device)] = error.message
                await self._release((opts.model, device))
                fallback = {"from": device, "reason": error.message}
                report("fallback", 0.0)

    async def _segment(self, session: Any, spec: ModelSpec, rgba: np.ndarray, opts: Options,
                       clock: _Clock) -> tuple[np.ndarray, preprocess.ModelInput]:
        """One pass of the model over a photo: its (S, S) uint8 mask and the input it was made from."""
        with clock("preprocess"):
            prepared = preprocess.model_input(rgba, spec, opts.knob("resize"))
            tensor = preprocess.tensor(prepared, spec)
        with clock("inference"):
            try:
                raw = await self.host.infer(session, spec, tensor)
            except BgRemoveError:
                raise
            except Exception as error:
                raise BgRemoveError(errors.INFERENCE_FAILED, f"Inference with {spec.id} failed: {error}") from error
        del tensor  # 12 MB at 1024 x 1024 that nothing after inference needs, while the photo's peak is to come
        with clock("postprocess"):
            return postprocess.mask_from_output(raw, spec), prepared

    async def remove(self, data: Any, options: Options | Mapping | None = None, progress: Progress | None = None,
                     mask: ModelMask | None = None, backdrop: Any = None) -> Result:
        """Cut the subject out of one encoded image: bytes, or the host's own kind of buffer (see Host).

        mask: an earlier result's mask of the same photo, used instead of running the model where the
        options would make the same one (ModelMask.fits). backdrop: an encoded image, for background "image".
        """
        opts = self._options(options)
        clock = _Clock({}, progress or _no_progress)
        with clock("decode"):
            rgba = await self._decode(data)
        return await self._cut_out(rgba, opts, clock, mask, backdrop)

    async def _decode(self, data: Any) -> np.ndarray:
        # Only its two ends are read here; the whole file goes to the host's decoder as it came.
        head, tail, length = self.host.ends(data, formats.HEADER_BYTES, formats.TAIL_BYTES)
        fmt = formats.sniff(head)
        check_size(formats.dimensions(head, fmt))
        formats.check_complete(fmt, head, tail, length)
        return await self.host.decode(data, fmt)

    async def remove_pixels(self, rgba: np.ndarray, options: Options | Mapping | None = None,
                            progress: Progress | None = None, consume: bool = False,
                            mask: ModelMask | None = None, backdrop: Any = None) -> Result:
        """Cut the subject out of already decoded (H, W, 4) uint8 RGBA pixels (mask, backdrop: see remove).

        With consume, the result is composed in `rgba` itself, which saves a copy of the photo.
        """
        opts = self._options(options)
        return await self._cut_out(rgba if consume else rgba.copy(), opts, _Clock({}, progress or _no_progress),
                                   mask, backdrop)

    def _options(self, options: Options | Mapping | None) -> Options:
        opts = options if isinstance(options, Options) else Options.parse(options)
        known = (*self.host.devices, *self.host.unavailable)
        if opts.device != "auto" and opts.device not in known:
            raise BgRemoveError(errors.BAD_OPTION, f"Device {opts.device!r} is not available here; "
                                                   f"this host runs on {' or '.join(known)}.")
        return opts

    async def _alpha(self, rgba: np.ndarray, opts: Options, device: str,
                     clock: _Clock) -> tuple[np.ndarray, ModelMask | None]:
        """The photo's (H, W) uint8 alpha from the model on one device, with the crop pass if asked for, and
        the model's mask to make it again (None after a crop pass: two models' masks made it)."""
        spec = MODELS[opts.model]
        refine = opts.knob("refine")
        crop_pass = opts.knob("crop_pass") == "on"
        with clock("model"):
            session = await self.session(opts.model, device, clock.report, crop.LOCATOR if crop_pass else None)
        if crop_pass:
            alpha = await self._crop_pass(session, rgba, opts, device, clock)
            if alpha is not None:
                return alpha, None
        mask, prepared = await self._segment(session, spec, rgba, opts, clock)
        with clock("postprocess"):
            alpha = postprocess.alpha_for_photo(mask, prepared, rgba, spec, refine)
        return alpha, ModelMask(opts.model, opts.knob("resize"), device, mask)

    def _alpha_from(self, mask: ModelMask, rgba: np.ndarray, opts: Options) -> np.ndarray:
        """The photo's alpha from a mask the model made earlier: the same steps after inference."""
        spec = MODELS[opts.model]
        if mask.data.shape != (spec.size, spec.size) or mask.data.dtype != np.uint8:
            raise BgRemoveError(errors.BAD_OPTION, f"The mask given is not one of {spec.id}'s: "
                                                   f"{spec.size}x{spec.size} bytes were expected.")
        prepared = preprocess.model_input(rgba, spec, mask.resize)
        return postprocess.alpha_for_photo(mask.data, prepared, rgba, spec, opts.knob("refine"))

    async def _crop_pass(self, session: Any, rgba: np.ndarray, opts: Options, device: str,
                         clock: _Clock) -> np.ndarray | None:
        """The small locator model finds the subject; when it is small, the model proper looks at its box
        alone and outside it the locator's answer stands. None when the whole photo is the model's to see."""
        spec, refine = MODELS[opts.model], opts.knob("refine")
        with clock("model"):
            locator = await self.session(crop.LOCATOR, device, clock.report, opts.model)
        located = MODELS[crop.LOCATOR]
        mask, prepared = await self._segment(locator, located, rgba, opts, clock)
        with clock("postprocess"):
            rough = postprocess.alpha_for_photo(mask, prepared, rgba, located, "none")
            box = crop.subject_box(rough)
        if box is None:
            if opts.model != crop.LOCATOR:
                return None
            with clock("postprocess"):  # the locator's look at the whole photo was the model's own
                return postprocess.refine_alpha(rough, mask, prepared, rgba, refine)
        y0, y1, x0, x1 = box
        part = np.ascontiguousarray(rgba[y0:y1, x0:x1])
        mask, prepared = await self._segment(session, spec, part, opts, clock)
        with clock("postprocess"):
            return crop.paste(rough, postprocess.alpha_for_photo(mask, prepared, part, spec, refine), box)

    async def _cut_out(self, rgba: np.ndarray, opts: Options, clock: _Clock, mask: ModelMask | None,
                       backdrop: Any) -> Result:
        """The photo's cut-out, composed over `rgba` itself."""
        height, width = rgba.shape[:2]
        check_size((width, height))
        if opts.background == "image" and backdrop is None:
            raise BgRemoveError(errors.BAD_OPTION, "Background 'image' needs the image to put the cut-out on.")
        reused = mask is not None and mask.fits(opts)
        if reused:
            with clock("postprocess"):
                alpha, device, fallback = self._alpha_from(mask, rgba, opts), mask.device, None
        else:
            (alpha, mask), device, fallback = await self._on_device(
                opts, clock.report, lambda device: self._alpha(rgba, opts, device, clock))
        with clock("postprocess"):
            postprocess.adjust_alpha(alpha, opts.threshold, opts.softness)
            under = await self._backdrop(rgba, opts, backdrop)
            out = postprocess.compose(rgba, alpha, opts.output, opts.knob("edge_colour"))
            if under is not None:
                out = backdrops.place_over(out, under)
            elif not opts.output_format.alpha:
                out = backdrops.place_over(out, (255, 255, 255))
            if opts.output_format.alpha and under is None:  # else every pixel is opaque: nothing to clear
                postprocess.black_where_clear(out)
        with clock("encode"):
            image, mime = await self.host.encode(out, opts.output_format, float(opts.quality))
        return Result(image, mime, width, height, opts.model, device, clock.timings, fallback, mask, reused)

    async def _backdrop(self, rgba: np.ndarray, opts: Options, backdrop: Any):
        """What the result is put on: a colour (any output), the photo blurred or another image (the cut-out
        only), or None. Made before the photo is composed over, since it may be the photo itself."""
        if opts.background_rgb is not None:
            return opts.background_rgb
        if opts.output != "foreground" or opts.background is None:
            return None
        height, width = rgba.shape[:2]
        if opts.background == "blur":
            return backdrops.blurred(rgba)
        try:
            image = await self._decode(backdrop)
        except BgRemoveError as error:
            raise BgRemoveError(error.code, f"The background image: {error.message}") from None
        return backdrops.cover(image, width, height)


def check_size(size: tuple[int, int] | None) -> None:
    """Refuse an image by its size (None: not known yet), before anything holds its pixels."""
    if size is None:
        return
    width, height = size
    if width * height > MAX_PIXELS:
        raise BgRemoveError(errors.TOO_LARGE, f"The image is {width}x{height} pixels; the limit is "
                                              f"{MAX_PIXELS // 1_000_000} megapixels. Scale it down first.")
    if width < 1 or height < 1:
        raise BgRemoveError(errors.CORRUPT_IMAGE, f"The image has no pixels ({width}x{height}).")


class _Clock:
    """Times each stage into `timings` and reports its start and end as progress."""

    def __init__(self, timings: dict[str, float], report: Progress):
        self.timings, self.report = timings, report

    def __call__(self, stage: str):
        self.stage = stage
        return self

    def __enter__(self):
        self.report(self.stage, 0.0)
        self.start = time.perf_counter()

    def __exit__(self, kind, value, traceback):
        # A stage may run more than once (a second pass): its times add up.
        elapsed = time.perf_counter() - self.start
        self.timings[self.stage] = round(self.timings.get(self.stage, 0.0) + elapsed, 4)
        if kind is None:
            self.report(self.stage, 1.0)
