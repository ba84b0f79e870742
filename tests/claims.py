"""Images whose header claims a size their body does not have: each format's size fields rewritten in a
small image Pillow writes, so a test can ask about 60000x60000 without anyone holding its pixels."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# The formats whose header states a size, as Pillow writes them (WebP lossless: a VP8L header).
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "BMP": "image/bmp", "TIFF": "image/tiff",
        "WEBP": "image/webp"}
# The largest size each header can state.
LARGEST = {"PNG": (2**31 - 1, 2**31 - 1), "JPEG": (65535, 65535), "GIF": (65535, 65535),
           "BMP": (2**31 - 1, 2**31 - 1), "TIFF": (2**32 - 1, 2**32 - 1), "WEBP": (16384, 16384)}


def claiming(fmt: str, width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    data = bytearray(buffer.getvalue())
    if fmt == "PNG":
        data[16:24] = struct.pack(">II", width, height)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # IHDR's checksum
    elif fmt == "JPEG":
        frame = data.index(b"\xff\xc0")
        data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    elif fmt == "GIF":
        data[6:10] = struct.pack("<HH", width, height)  # the screen
        frame = data.index(b",")
        data[frame + 5:frame + 9] = struct.pack("<HH", width, height)  # the first frame
    elif fmt == "BMP":
        data[18:26] = struct.pack("<ii", width, height)
    elif fmt == "TIFF":
        (directory,) = struct.unpack("<I", data[4:8])
        (entries,) = struct.unpack("<H", data[directory:directory + 2])
        for entry in range(directory + 2, directory + 2 + 12 * entries, 12):
            (tag,) = struct.unpack("<H", data[entry:entry + 2])
            if tag in (256, 257):  # ImageWidth, ImageLength, rewritten as LONG
                data[entry + 2:entry + 12] = struct.pack("<HII", 4, 1, width if tag == 256 else height)
    elif fmt == "WEBP":
        fields = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
        data[21:25] = ((width - 1) | ((height - 1) << 14) | fields).to_bytes(4, "little")
    return bytes(data)


def solid_png(width: int, height: int) -> bytes:
    """A real, complete PNG of one colour (compressed row by row: 20000x20000 is 1.2 MB on disk)."""
    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, content: bytes) -> bytes:
        return struct.pack(">I", len(content)) + kind + content + struct.pack(">I", zlib.crc32(kind + content))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def photo_file(fmt: str, size=(96, 64)) -> bytes:
    """A small noisy image in a format, so that a third of it is a real part of its data."""
    noise = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, fmt)
    return buffer.getvalue()


# The formats whose end the pipeline checks (formats.check_complete), and JPEG, which it leaves to the decoder.
CHECKED_ENDS = ("PNG", "GIF", "WEBP", "BMP")


def variants() -> dict[str, tuple[bytes, tuple[int, int]]]:
    """Files of the kinds the README says are read, each with the size its cut-out must have."""
    rgb = Image.fromarray(np.random.default_rng(3).integers(0, 256, (48, 64, 3), np.uint8))
    made = {}

    def save(name, image, fmt, size=(64, 48), **options):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        made[name] = (buffer.getvalue(), size)

    save("png 16-bit grey", rgb.convert("I").point(lambda v: v * 256).convert("I;16"), "PNG")
    save("png palette with transparency", rgb.convert("P"), "PNG", transparency=0)
    save("png grey with alpha", rgb.convert("LA"), "PNG")
    save("png rgba", rgb.convert("RGBA"), "PNG")
    save("jpeg progressive", rgb, "JPEG", progressive=True)
    save("jpeg cmyk", rgb.convert("CMYK"), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    save("jpeg exif orientation 6", rgb, "JPEG", size=(48, 64), exif=exif.tobytes())
    save("gif animated", rgb.convert("P"), "GIF", save_all=True, append_images=[rgb.convert("P").rotate(90)])
    save("bmp", rgb, "BMP")
    save("webp lossy with alpha", rgb.convert("RGBA"), "WEBP", quality=80)
    save("tiff", rgb, "TIFF")
    return made
