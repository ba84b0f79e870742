"""The browser host, in Pyodide inside a Web Worker: the only module that touches JS.

createImageBitmap + OffscreenCanvas decode, OffscreenCanvas.convertToBlob
encodes, onnxruntime-web infers. `Service` is what worker.js talks to.
"""
from __future__ import annotations

import numpy as np
import js
from js import (Blob, Float32Array, ImageData, Object, OffscreenCanvas, Reflect, Response, Uint8Array,
                Uint8ClampedArray, createImageBitmap, crypto, fetch)
from pyodide.ffi import JsException, to_js

from .. import errors, pillow_codec
from ..errors import BgRemoveError
from ..models import ModelSpec
from ..options import Options
from ..pipeline import Progress, Remover

# Models stay in Cache Storage between visits; every use checks their sha256 first.
MODEL_CACHE = "bgremove-models-v1"
# Formats the browser cannot decode itself but Pillow can.
_PILLOW_ONLY = ("tiff",)
# Formats only some browsers decode (HEIC: Safari; AVIF: most), so a failure means "unsupported here".
_MAYBE_UNSUPPORTED = ("heic", "avif", "ico")


def _js(value):
    return to_js(value, dict_converter=Object.fromEntries)


class BrowserHost:
    def __init__(self, ort, models_url: str, checksums: dict[str, str], device: str = "wasm"):
        self.ort = ort
        self.models_url = models_url
        self.checksums = checksums  # model file name -> sha256, from the build manifest
        self.device = device

    async def decode(self, data: bytes, fmt: str) -> np.ndarray:
        if fmt in _PILLOW_ONLY:
            return pillow_codec.decode(data, fmt)
        blob = Blob.new(_js([to_js(memoryview(data))]))
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

    async def encode(self, rgba: np.ndarray, mime: str, quality: float):
        height, width = rgba.shape[:2]
        pixels = Uint8ClampedArray.new(rgba.size)
        pixels.assign(np.ascontiguousarray(rgba))
        canvas = OffscreenCanvas.new(width, height)
        canvas.getContext("2d").putImageData(ImageData.new(pixels, width, height), 0, 0)
        blob = await canvas.convertToBlob(_js({"type": mime, "quality": quality}))
        return blob, blob.type  # a browser without a WebP encoder answers with PNG

    async def create_session(self, spec: ModelSpec, progress: Progress):
        model = await self._model_bytes(spec, progress)
        options = {"executionProviders": [self.device], "graphOptimizationLevel": "all"}
        return await self.ort.InferenceSession.create(model, _js(options))

    async def _model_bytes(self, spec: ModelSpec, progress: Progress):
        """The model file, from Cache Storage when a verified copy is there, else downloaded, verified, cached."""
        url = self.models_url + spec.file
        expected = self.checksums.get(spec.file)
        cache = await js.caches.open(MODEL_CACHE) if hasattr(js, "caches") else None
        if cache is not None and expected:
            hit = await cache.match(url)
            if hit:
                model = Uint8Array.new(await hit.arrayBuffer())
                if await _sha256(model) == expected:
                    progress("download", 1.0, model.length, model.length)
                    return model
                await cache.delete(url)  # damaged or stale: fetch it again
        model = await self._download(url, progress)
        if expected:
            actual = await _sha256(model)
            if actual != expected:
                raise BgRemoveError(errors.MODEL_LOAD_FAILED,
                                    f"{spec.file} from {url} failed its checksum: expected sha256 {expected}, "
                                    f"got {actual}. The file on the server is damaged or not this build's.")
            if cache is not None:
                await cache.put(url, Response.new(model))
        return model

    async def _download(self, url: str, progress: Progress):
        try:
            response = await fetch(url)
        except JsException as error:
            raise BgRemoveError(errors.MODEL_LOAD_FAILED, f"Could not download {url}: {error.message}") from None
        if not response.ok:
            raise BgRemoveError(errors.MODEL_LOAD_FAILED, f"Could not download {url}: HTTP {response.status}.")
        total = int(response.headers.get("content-length") or 0)
        reader = response.body.getReader()
        chunks, received = [], 0
        while True:
            chunk = await reader.read()
            if chunk.done:
                break
            chunks.append(chunk.value)
            received += chunk.value.length
            if total:
                progress("download", min(received / total, 1.0), received, total)
        model = Uint8Array.new(received)
        offset = 0
        for chunk in chunks:
            model.set(chunk, offset)
            offset += chunk.length
        return model

    async def release_session(self, session) -> None:
        await session.release()

    async def infer(self, session, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        data = Float32Array.new(tensor.size)
        data.assign(tensor)
        feed = self.ort.Tensor.new("float32", data, to_js(list(tensor.shape)))
        name = session.outputNames[spec.output] if isinstance(spec.output, int) else spec.output
        results = await session.run(_js({spec.input_name: feed}), to_js([name]))
        output = Reflect.get(results, name)
        mask = np.empty(output.data.length, np.float32)
        output.data.assign_to(mask)
        feed.dispose()
        output.dispose()
        return mask


async def _sha256(data) -> str:
    digest = await crypto.subtle.digest("SHA-256", data)
    return Uint8Array.new(digest).to_bytes().hex()


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

    def __init__(self, ort, models_url: str, checksums):
        self.remover = Remover(BrowserHost(ort, models_url, checksums.to_py()))

    async def handle(self, request, progress):
        report = _abortable(progress)
        try:
            kind = request.type
            if kind == "remove":
                options = request.options.to_py() if getattr(request, "options", None) else None
                result = await self._remove(request, options, report)
                return _js({"ok": True, "blob": result.image, "meta": result.meta()})
            if kind == "preload":
                requested = getattr(request, "model", None)
                model = Options.parse({"model": requested} if requested else None).model
                await self.remover.session(model, report)
                return _js({"ok": True, "model": model})
            if kind == "release":
                released = await self.remover.release(getattr(request, "model", None) or None)
                return _js({"ok": True, "released": released})
            raise BgRemoveError(errors.BAD_OPTION, f"Unknown request type {kind!r}.")
        except BgRemoveError as error:
            return _js({"ok": False, "error": error.to_dict()})
        except Exception as error:  # a bug of ours: report it, keep serving
            return _js({"ok": False, "error": {"code": errors.INTERNAL, "message": f"{type(error).__name__}: {error}"}})

    async def _remove(self, request, options, report):
        bitmap, pixels = getattr(request, "bitmap", None), getattr(request, "pixels", None)
        if bitmap:
            return await self.remover.remove_pixels(bitmap_pixels(bitmap), options, report)
        if pixels:
            width, height, data = pixels.width, pixels.height, pixels.data
            if data.byteLength != width * height * 4:
                raise BgRemoveError(errors.BAD_OPTION, f"{width}x{height} RGBA pixels need {width * height * 4} "
                                                       f"bytes, not {data.byteLength}.")
            rgba = np.empty((height, width, 4), np.uint8)
            Uint8Array.new(data).assign_to(rgba)
            return await self.remover.remove_pixels(rgba, options, report)
        return await self.remover.remove(Uint8Array.new(request.data).to_bytes(), options, report)
