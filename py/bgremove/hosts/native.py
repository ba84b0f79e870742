"""The CPython host: Pillow decodes and encodes, onnxruntime infers."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import errors, pillow_codec
from ..errors import BgRemoveError
from ..formats import OutputFormat
from ..models import ModelSpec
from ..pipeline import Progress

# build.py assembles the models here; BGREMOVE_MODELS or models_dir points elsewhere.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[3] / "static" / "vendor" / "models"


class NativeHost:
    devices = ("cpu",)
    unavailable: dict[str, str] = {}

    def __init__(self, models_dir: str | Path | None = None, threads: int = 0):
        self.models_dir = Path(models_dir or os.environ.get("BGREMOVE_MODELS") or DEFAULT_MODELS_DIR)
        self.threads = threads  # 0 lets onnxruntime choose

    def ends(self, data: bytes, head: int, tail: int) -> tuple[bytes, bytes, int]:
        view = memoryview(data)
        return bytes(view[:head]), bytes(view[max(len(view) - tail, 0):]), len(view)

    async def decode(self, data: bytes, fmt: str) -> np.ndarray:
        return pillow_codec.decode(data, fmt)

    async def encode(self, rgba: np.ndarray, fmt: OutputFormat, quality: float) -> tuple[bytes, str]:
        return pillow_codec.encode(rgba, fmt, quality), fmt.mime

    async def create_session(self, spec: ModelSpec, device: str, progress: Progress):
        import onnxruntime

        path = self.models_dir / spec.file
        if not path.exists():
            raise BgRemoveError(errors.MODEL_LOAD_FAILED,
                                f"Model file {path} is missing: run `python3 build.py build`, or set BGREMOVE_MODELS.")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        progress("download", 1.0)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    async def release_session(self, session) -> None:
        del session  # onnxruntime frees a session with its last reference

    async def infer(self, session, spec: ModelSpec, tensor: np.ndarray) -> np.ndarray:
        outputs = [o.name for o in session.get_outputs()]
        name = outputs[spec.output] if isinstance(spec.output, int) else spec.output
        return session.run([name], {spec.input_name: tensor})[0]
