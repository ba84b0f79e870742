"""Decode and encode with Pillow: the native host's codec, and the browser's fallback
for formats its own decoder does not read (TIFF, for one)."""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import errors
from .errors import BgRemoveError
from .formats import OutputFormat


def decode(data: bytes, fmt: str) -> np.ndarray:
    """Image bytes -> (H, W, 4) uint8 RGBA with EXIF orientation applied."""
    try:
        with warnings.catch_warnings():
            # The pipeline enforces its own pixel limit before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)
                return np.asarray(image.convert("RGBA")).copy()
    except UnidentifiedImageError:
        raise BgRemoveError(errors.UNSUPPORTED_FORMAT, f"This {fmt.upper()} image cannot be decoded here.") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise BgRemoveError(errors.CORRUPT_IMAGE, f"The {fmt.upper()} file is damaged or truncated ({error}).") from None


def encode(rgba: np.ndarray, fmt: OutputFormat, quality: float) -> bytes:
    """(H, W, 4) uint8 -> PNG / WebP / JPEG bytes; quality 0..1 for the lossy formats."""
    image = Image.fromarray(rgba, "RGBA")
    buffer = io.BytesIO()
    if not fmt.alpha:
        image = image.convert("RGB")
    if fmt.name == "png":
        image.save(buffer, fmt.pillow)
    else:
        image.save(buffer, fmt.pillow, quality=round(quality * 100))
    return buffer.getvalue()
