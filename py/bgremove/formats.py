"""Image formats: the ones we read, recognised from a file's first bytes before any decoder sees it
(what tells "not an image at all" apart from "an image we cannot read"), and the ones we write.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from . import errors
from .errors import BgRemoveError

# Enough of a file to find its format and size: PNG, GIF, BMP and WebP say them in their first bytes,
# JPEG after its metadata segments (EXIF, ICC profile), which rarely pass this.
HEADER_BYTES = 1 << 18
# Enough of a file's end to find the mark its format ends with, past a little trailing padding.
TAIL_BYTES = 1 << 10


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


# The file name extensions of the formats read here, for picking the images out of a folder.
INPUT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif")

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


def check_complete(fmt: str, head: bytes, tail: bytes, length: int) -> None:
    """Refuse a file that ends before its format says it does, from its two ends alone.

    Browsers differ on such a file: Chromium refuses a truncated PNG where Firefox and WebKit show
    the part that arrived, so the same file would give an error in one and half a cut-out in another.
    JPEG is left to the decoder: some cameras put a video after the image's end, so its end mark can
    be anywhere in the file.
    """
    if fmt == "png":
        complete = b"IEND" in tail
    elif fmt == "gif":
        complete = tail.rstrip(b"\0").endswith(b";")  # its trailer, perhaps followed by padding
    elif fmt == "webp":
        complete = len(head) >= 8 and int.from_bytes(head[4:8], "little") + 8 <= length  # the RIFF size
    elif fmt == "bmp":
        declared = int.from_bytes(head[2:6], "little") if len(head) >= 6 else 0  # 0: not stated
        complete = declared <= length
    else:
        return
    if not complete:
        raise BgRemoveError(errors.CORRUPT_IMAGE, f"The {fmt.upper()} file is truncated: it ends before its "
                                                  f"format says it does ({length} bytes).")


def dimensions(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) of an image in format `fmt` (as sniff() names it) from its header alone (a file
    or its first HEADER_BYTES), or None where it cannot be told.

    Lets a huge image be refused before anything decodes its pixels, whatever size it claims. Pillow's
    reader is called directly, since Image.open() refuses to say the size of an image it calls a
    decompression bomb; WebP's is read here, since Pillow's allocates the whole canvas to open it.
    """
    if fmt == "webp":
        return _webp_size(bytes(data[:30]))
    Image.init()
    opener = Image.OPEN.get(fmt.upper())
    if opener is None:
        return None
    try:
        with opener[0](io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    """The canvas size from a WebP file's first chunk (the container's, lossless' or lossy's header)."""
    if len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None
