"""Image formats: the ones we read, recognised from a file's first bytes before any decoder sees it
(what tells "not an image at all" apart from "an image we cannot read"), and the ones we write.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

from . import errors
from .errors import BgRemoveError

# Enough of a file to find its format and size: PNG, GIF, BMP and WebP say them in their first bytes,
# JPEG after its metadata segments (EXIF, ICC profile), which rarely pass this.
HEADER_BYTES = 1 << 18


@dataclass(frozen=True)
class OutputFormat:
    name: str        # as options say it
    mime: str
    extension: str   # of a file name, without the dot
    pillow: str      # Pillow's name for its encoder
    alpha: bool      # keeps transparency; without it the result is flattened onto a colour
    label: str       # for people


OUTPUT_FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("png", "image/png", "png", "PNG", True, "PNG"),
    OutputFormat("webp", "image/webp", "webp", "WEBP", True, "WebP"),
    OutputFormat("jpeg", "image/jpeg", "jpg", "JPEG", False, "JPEG"),
)}
_ALIASES = {"jpg": "jpeg"}


def output_format_name(value: str) -> str:
    """An output format as people write it ("PNG", "jpg", "image/webp") in the options' spelling."""
    name = str(value).lower().removeprefix("image/")
    return _ALIASES.get(name, name)


def output_format_of(path_suffix: str) -> str | None:
    """The output format a file name's suffix (".jpg") asks for, if any."""
    name = output_format_name(path_suffix.lstrip("."))
    return name if name in OUTPUT_FORMATS else None


# Formats that browsers and Pillow both decode.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
# Recognised image formats that not every host decodes; the host decides.
_OTHER = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x00\x00\x01\x00", "ico"),
)


def sniff(data: bytes) -> str:
    """Return the image format of `data`, a file or its first bytes ("png", "jpeg", "webp", ...), or raise
    BgRemoveError."""
    if len(data) == 0:
        raise BgRemoveError(errors.EMPTY_INPUT, "The file is empty.")
    head = bytes(data[:32])
    for signature, name in _SIGNATURES + _OTHER:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "heic"
    if head.lstrip()[:5].lower() in (b"<?xml", b"<svg "):
        raise BgRemoveError(errors.UNSUPPORTED_FORMAT, "SVG images are not supported; use PNG, JPEG or WebP.")
    raise BgRemoveError(errors.NOT_AN_IMAGE, "The file is not an image (PNG, JPEG, WebP, GIF, BMP or AVIF).")


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header alone (a file or its first HEADER_BYTES), or None where Pillow
    cannot tell.

    Lets a huge image be refused before anything decodes all of its pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Exception:
        return None
