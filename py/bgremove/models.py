"""The model table: what each segmentation graph expects and returns.

A model is data, not code: adding one is adding a row. This table is the one place for what a
model is (its file, licence, input and output); where its bytes come from and their checksum live
in assets.lock.json. The build copies both into static/vendor/build.json for the JavaScript.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    id: str
    file: str
    size: int                      # square input side, pixels
    input_name: str
    output: str | int              # output name, or index into the session's outputs
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale_by_max: bool             # divide pixels by the image's maximum before mean/std (rembg)
    resize: str                    # "bilinear" (the reference's own) or "lanczos" (rembg's, via Pillow)
    minmax_output: bool            # stretch the raw output to 0..1 (rembg's u2net family)
    licence: str                   # of the weights
    label: str                     # for people: the page's model list
    speed: str                     # for people: what it trades, measured in the browser (docs/bench.md)


MODELS: dict[str, ModelSpec] = {
    # @imgly/background-removal: (pixel - 128) / 256 on a 1024x1024 squash, output already 0..1.
    "isnet-medium": ModelSpec("isnet-medium", "isnet-medium.onnx", 1024, "input", "output",
                              (128.0, 128.0, 128.0), (256.0, 256.0, 256.0), False, "bilinear", False, "AGPL-3.0",
                              "IS-Net medium (fp16)", "best edges, slowest"),
    # IS-Net medium with most convolutions in 8 bits, made by the build (py/tools/graphs.py quantize_8bit): on
    # both evaluation sets as good as medium within noise (docs/quantization.md), in about 0.67x its time on wasm.
    "isnet-medium-q8": ModelSpec("isnet-medium-q8", "isnet-medium-q8.onnx", 1024, "input", "output",
                                 (128.0, 128.0, 128.0), (256.0, 256.0, 256.0), False, "bilinear", False, "AGPL-3.0",
                                 "IS-Net medium, 8-bit", "medium's edges in about 0.67x its time"),
    "isnet-small": ModelSpec("isnet-small", "isnet-small.onnx", 1024, "input", "output",
                             (128.0, 128.0, 128.0), (256.0, 256.0, 256.0), False, "bilinear", False, "AGPL-3.0",
                             "IS-Net small (quint8)", "close to medium in about 0.6x its time"),
    # rembg's u2netp: image / max, ImageNet mean and std, Lanczos to 320x320, first output min-max normalised.
    "u2netp": ModelSpec("u2netp", "u2netp.onnx", 320, "input.1", 0,
                        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), True, "lanczos", True, "Apache-2.0",
                        "U²-Net p (small, fast)", "rough edges, about 0.15x medium's time"),
}

DEFAULT_MODEL = "isnet-medium-q8"
