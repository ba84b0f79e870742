"""The browser host, in Pyodide inside a Web Worker: the only module that touches JS.

createImageBitmap + OffscreenCanvas decode, static/engine/png.js (PNG) and
OffscreenCanvas.convertToBlob encode, onnxruntime-web infers (in the inference worker,
through the engine's static/engine/inference.js). `Service` is what static/engine/engine.js talks to.
"""
from __future__ import annotations

import numpy as np
from js import Blob, Float32Array, ImageData, Object, OffscreenCanvas, Reflect, Uint8Array, createImageBitmap
from pyodide.ffi import JsException, create_proxy, to_js

from .. import errors, pillow_codec, png_rows
from ..errors import BgRemoveError
from ..formats import OutputFormat
from ..models import ModelSpec
from ..options import Options
from ..pipeline import ModelMask, Progress, Remover, check_size

# Formats the browser cannot decode itself but Pillow can.
_PILLOW_ONLY = ("tiff",)
# Formats only some browsers decode (HEIC: Safari; AVIF: most), so a failure means "unsupported here".
_MAYBE_UNSUPPORTED = ("heic", "avif", "ico")


def _js(value):
    return to_js(value, dict_converter=Object.fromEntries)


class BrowserHost:
    def __init__(self, inference, gpu: dict, encode_png):
        self.inference = inference  # static/engine/inference.js: sessions in the inference worker
        self.encode_png = encode_png  # static/engine/png.js
        # The engine decided at start-up whether its onnxruntime-web has WebGPU, and says why not.
        self.devices = ("webgpu", "wasm") if gpu["use"] else ("wasm",)
        self.unavailable = {} if gpu["use"] else {"webgpu": gpu["reason"]}

    def ends(self, data, head: int, tail: int) -> tuple[bytes, bytes, int]:
        """The two ends of a request's ArrayBuffer: the only parts of it that enter Python's heap."""
        length = data.byteLength
        start = max(length - tail, 0)
        return (Uint8Array.new(data, 0, min(head, length)).to_bytes(),
                Uint8Array.new(data, start, length - start).to_bytes(), length)

    async def decode(self, data, fmt: str) -> np.ndarray:
        """An encoded image's ArrayBuffer -> RGBA pixels, by the browser's decoder (Pillow's for TIFF)."""
        if fmt in _PILLOW_ONLY:
            return pillow_codec.decode(Uint8Array.new(data).to_bytes(), fmt)
        blob = Blob.new(_js([data]))
        try:
            bitmap = await createImageBitmap(blob, _js({"imageOrientation": "from-image", "premultiplyAlpha": "none"}))
        except JsException as error:
            if fmt in _MAYBE_UNSUPPORTED:
                raise BgRemoveError(errors.UNSUPPORTED_FORMAT,
                                    f"This browser cannot decode {fmt.upper()} images; use PNG, JPEG or WebP.") from None
            raise BgRemoveError(errors.CORRUPT_IMAGE,
                                f"The {fmt.upper()} file could not be decoded: it is damaged or truncated "
                                f"({error.message}).") from None
        return bitmap_pixels(bitmap)

    async def encode(self, rgba: np.ndarray, fmt: OutputFormat, quality: float):
        """PNG from the array itself (static/engine/png.js), the other formats by the canvas, which keeps
        colour premultiplied by alpha in 8 bits and so loses the colour of faint edge pixels."""
        height, width = rgba.shape[:2]
        if fmt.name == "png":
            # The filtered rows go into JavaScript's memory a band at a time: the browser deflates them there.
            data = Uint8Array.new(height * (width * 4 + 1))
            for offset, band in png_rows.scanlines(rgba):
                data.subarray(offset, offset + band.size).assign(band)
            return await self.encode_png(data, width, height), fmt.mime
        canvas = OffscreenCanvas.new(width, height)
        # The canvas copies the pixels straight from Python's memory: a view, not a copy, on the way.
        proxy = create_proxy(np.ascontiguousarray(rgba))
        buffer = proxy.getBuffer("u8clamped")
        try:
            canvas.getContext("2d").putImageData(ImageData.new(buffer.data, width, height), 0, 0)
        finally:
            buffer.release()
            proxy.destroy()
        blob = await canvas.convertToBlob(_js({"type": fmt.mime, "quality": quality}))
        return blob, blob.type  # a browser without a WebP encoder answers with PNG

    async def create_session(self, spec: ModelSpec, device: str, progress: Progress):
        """The inference worker's session for (model, device): it downloads, checks and caches the file."""
        def on_bytes(update):
            done, total = update.done, update.total
            progress("download", min(done / total, 1.0) if total else 0.0, done, total)

        callback = create_proxy(on_bytes)
        try:
            return await self.inference.session(spec.id, device, callback)
        except JsException as error:  # a cancellation raised in on_bytes comes back as itself, not as this
            raise BgRemoveError(errors.MODEL_LOAD_FAILED,
                                f"Could not load {spec.id} on {device}: {error.message}") from None
        finally:
            callback.destroy()

    async def release_session(self, session) -> None:
        await session.release()

    async def infer(self, session, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        data = Float32Array.new(tensor.size)
        data.assign(tensor)
        feed = {"type": "float32", "data": data, "dims": list(tensor.shape)}
        name = session.outputNames[spec.output] if isinstance(spec.output, int) else spec.output
        results = await session.run(_js({spec.input_name: feed}), to_js([name]))
        output = Reflect.get(results, name)
        mask = np.empty(output.data.length, np.float32)
        output.data.assign_to(mask)
        return mask


def bitmap_pixels(bitmap) -> np.ndarray:
    """An ImageBitmap's pixels as (H, W, 4) uint8 RGBA; the bitmap is closed."""
    width, height = bitmap.width, bitmap.height
    canvas = OffscreenCanvas.new(width, height)
    context = canvas.getContext("2d", _js({"willReadFrequently": True}))
    context.drawImage(bitmap, 0, 0)
    bitmap.close()
    rgba = np.empty((height, width, 4), np.uint8)
    context.getImageData(0, 0, width, height).data.assign_to(rgba)
    return rgba


def _abortable(progress):
    """The worker's progress callback, with its AbortError (a cancelled request) turned into our error."""
    def report(stage, fraction, done=None, total=None):
        try:
            progress(stage, fraction, done, total)
        except JsException as error:
            if error.name == "AbortError":
                raise BgRemoveError(errors.ABORTED, "The request was cancelled.") from None
            raise
    return report


class Service:
    """Answers the worker's requests; never raises, so one bad image cannot stop the worker.

    A request to remove carries exactly one of: data (encoded image bytes), bitmap (an
    ImageBitmap) or pixels ({width, height, data: RGBA bytes}, as in an ImageData).
    """

    def __init__(self, inference, gpu, keep_models: bool, early, encode_png):
        self.remover = Remover(BrowserHost(inference, gpu.to_py(), encode_png), keep_models)
        if early:  # the engine's start-up model, already loading: its session is this remover's too
            self.remover.prepare(early.model, early.device)

    async def handle(self, request, progress):
        report = _abortable(progress)
        try:
            kind = request.type
            if kind == "remove":
                options = request.options.to_py() if getattr(request, "options", None) else None
                result = await self._remove(request, options, report)
                return _js({"ok": True, "blob": result.image, "meta": result.meta(), "mask": _mask_to_js(result.mask)})
            if kind == "preload":
                wanted = {name: getattr(request, name, None) for name in ("model", "device")}
                options = Options.parse({name: value for name, value in wanted.items() if value})
                device = await self.remover.preload(options, report)
                return _js({"ok": True, "model": options.model, "device": device})
            if kind == "release":
                released = await self.remover.release(getattr(request, "model", None) or None,
                                                      getattr(request, "device", None) or None)
                return _js({"ok": True, "released": released})
            raise BgRemoveError(errors.BAD_OPTION, f"Unknown request type {kind!r}.")
        except BgRemoveError as error:
            return _js({"ok": False, "error": error.to_dict()})
        except Exception as error:  # a bug of ours: report it, keep serving
            return _js({"ok": False, "error": {"code": errors.INTERNAL, "message": f"{type(error).__name__}: {error}"}})

    async def _remove(self, request, options, report):
        bitmap, pixels = getattr(request, "bitmap", None), getattr(request, "pixels", None)
        again = {"mask": _mask_from_js(getattr(request, "mask", None)), "backdrop": getattr(request, "backdrop", None)}
        if bitmap:
            check_size((bitmap.width, bitmap.height))
            return await self.remover.remove_pixels(bitmap_pixels(bitmap), options, report, consume=True, **again)
        if pixels:
            width, height, data = pixels.width, pixels.height, pixels.data
            check_size((width, height))
            if data.byteLength != width * height * 4:
                raise BgRemoveError(errors.BAD_OPTION, f"{width}x{height} RGBA pixels need {width * height * 4} "
                                                       f"bytes, not {data.byteLength}.")
            rgba = np.empty((height, width, 4), np.uint8)
            Uint8Array.new(data).assign_to(rgba)
            return await self.remover.remove_pixels(rgba, options, report, consume=True, **again)
        return await self.remover.remove(request.data, options, report, **again)


def _mask_to_js(mask: ModelMask | None):
    """A result's mask for the page to keep ({model, resize, device, size, data: Uint8Array}), or None."""
    if mask is None:
        return None
    data = Uint8Array.new(mask.data.size)
    data.assign(mask.data)
    return _js({"model": mask.model, "resize": mask.resize, "device": mask.device, "size": mask.data.shape[0],
                "data": data})


def _mask_from_js(mask) -> ModelMask | None:
    """A mask the page kept from an earlier result, as _mask_to_js made it."""
    if mask is None:
        return None
    try:
        size = int(mask.size)
        data = np.empty((size, size), np.uint8)
        mask.data.assign_to(data)
        return ModelMask(str(mask.model), str(mask.resize), str(mask.device), data)
    except Exception:
        raise BgRemoveError(errors.BAD_OPTION, "The mask given is not one a result of this remover came with.") from None
