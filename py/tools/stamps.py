"""A second evaluation set made from Debian packages: photographs of objects cut out by hand (Tux Paint's
stamps), composited over photographs of scenes (MATE's wallpapers).

The shared set (../shared/evalset) is mostly hair and fur, and its ground truth was cut out by models of
our model's family. Here the subjects are hard-edged things (fruit, food, vehicles, tools, stones), thin
structures and two see-through objects, and the ground truth is exact by construction: each composite is
made here from the stamp's own alpha, image = colour * alpha + background * (1 - alpha).

Bias, to keep in mind when reading the numbers: the stamps were cut out by hand, so an edge is as fine as
its author made it (mostly a one-pixel soft rim; fur and feathers are cut smooth), and a subject pasted
on an unrelated scene stands out more than in a real photograph (its light does not match). The canvases
are small (under 1000 pixels a side), like the held-out photographs, so the model's square is larger
than the photo. The glass is drawn, not photographed.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from .assets import CACHE, BuildError, fetch, write_if_changed

FOLDER = CACHE / "evalsets" / "stamps"
STAMPS_ROOT = "./usr/share/tuxpaint/stamps/"
BACKGROUNDS_ROOT = "./usr/share/backgrounds/mate/nature/"
# The scenes without a subject of their own (not the flowers, the ladybird, the splash): the model must
# not have two to choose from.
BACKGROUNDS = ("Blinds.jpg", "Dune.jpg", "GreenMeadow.jpg", "RainDrops.jpg", "Storm.jpg", "Wood.jpg")
# The photographed stamps big enough to matter (drawings left out), by the kind the report sorts them into.
STAMPS = {
    "hard-edged opaque": (
        "food/fruit/Apricot_whole", "food/fruit/avocado", "food/fruit/cherimoya", "food/fruit/orange_seville",
        "food/fruit/Strawberry2", "food/spices/ginger", "seasonal/christmas/Mince_Pie",
        "seasonal/christmas/Roast_turkey", "animals/insects/Woodlouse", "animals/insects/Brown_slug",
        "vehicles/race/indycar", "vehicles/emergency/firetruck", "vehicles/garbagetruck",
        "vehicles/construction/dumper", "vehicles/wheel_tractor", "vehicles/flight/planes/747",
        "vehicles/flight/balloon360", "military/vehicles/bradley", "military/vehicles/infantry-stryker",
        "military/vehicles/f22_raptor", "town/monuments/inukshuk-photo",
    ),
    "thin structures": (
        "food/fruit/Cherry_Stella", "household/tools/spade", "household/tools/cementmixer", "medical/stethoscope",
        "animals/insects/mantis", "animals/fish/lobster", "animals/birds/crowned_crane",
        "town/roadsigns/railroad_crossing", "plants/trees/birch",
    ),
    "see-through": ("household/dishes/glass", "household/Lightbulb"),
    "hair/fur": ("animals/mammals/bears/european-bear", "animals/mammals/bovines/gnu-stand",
                 "animals/mammals/aquatic/otter", "animals/mammals/bovines/indian_blackbuck"),
}
LONGEST = 560          # subject pixels on its longer side at most; larger stamps are scaled down
MARGIN = (1.25, 1.7)   # canvas side over subject side, drawn per item
SEED = 23


def build(folder: Path = FOLDER) -> Path:
    """The set's folder (manifest.json, images/, gt/, fg/), made from the pinned packages; the same bytes
    every time, so cached model outputs stay valid."""
    wanted = {f"{STAMPS_ROOT}{name}.png" for names in STAMPS.values() for name in names}
    stamps = members(fetch("tuxpaint-stamps"), wanted)
    backgrounds = members(fetch("mate-backgrounds"), {BACKGROUNDS_ROOT + name for name in BACKGROUNDS})
    rng = np.random.default_rng(SEED)
    items = []
    for index, (kind, name) in enumerate((k, n) for k, names in STAMPS.items() for n in names):
        scene = BACKGROUNDS[index % len(BACKGROUNDS)]
        with Image.open(io.BytesIO(stamps[f"{STAMPS_ROOT}{name}.png"])) as stamp, \
                Image.open(io.BytesIO(backgrounds[BACKGROUNDS_ROOT + scene])) as background:
            image, alpha, colour = composite(stamp.convert("RGBA"), background.convert("RGB"), rng)
        item_id = f"stamp_{Path(name).name.lower()}_{Path(scene).stem.lower()}"
        height, width = alpha.shape
        aspect = width / height
        for sub, array, suffix in (("images", image, "jpg"), ("gt", alpha, "png"), ("fg", colour, "png")):
            buffer = io.BytesIO()
            if suffix == "jpg":  # as the shared set: JPEG quality 95, no chroma subsampling
                Image.fromarray(array).save(buffer, "JPEG", quality=95, subsampling=0)
            else:
                Image.fromarray(array).save(buffer, "PNG")
            write_if_changed(folder / sub / f"{item_id}.{suffix}", buffer.getvalue())
        items.append({
            "id": item_id, "width": width, "height": height, "aspect": round(aspect, 4),
            "bucket": "tall" if aspect < 0.75 else "wide" if aspect > 1.34 else "square",
            "extreme": False, "kind": kind, "source": "tuxpaint+mate-backgrounds",
            "license": "GPL-2 (Tux Paint stamp), GPL-2+ (MATE wallpaper)",
            "note": f"stamp {name} (hand-cut alpha) over {scene}",
            "image": f"images/{item_id}.jpg", "gt": f"gt/{item_id}.png", "fg": f"fg/{item_id}.png",
        })
    manifest = {"version": 1, "what": " ".join(__doc__.split("\n\n")[0].split()), "items": items}
    write_if_changed(folder / "manifest.json", json.dumps(manifest, indent=1).encode())
    return folder


def members(deb: Path, names: set[str]) -> dict[str, bytes]:
    """Files of a Debian package, read through dpkg-deb (Debian's own tool, there wherever apt-get is)."""
    if shutil.which("dpkg-deb") is None:
        raise BuildError(f"dpkg-deb is needed to read {deb.name}")
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as process, \
            tarfile.open(fileobj=process.stdout, mode="r|") as tar:
        found = {member.name: tar.extractfile(member).read() for member in tar if member.name in names}
    missing = sorted(names - set(found))
    if missing:
        raise BuildError(f"{deb.name} lacks {', '.join(missing)}")
    return found


def composite(stamp: Image.Image, background: Image.Image, rng: np.random.Generator):
    """One item from an RGBA stamp and an RGB scene: (image, alpha, colour) as uint8 arrays of one canvas.

    The stamp is scaled down (premultiplied, so no fringe) when larger than LONGEST; the canvas is its box
    grown by a random MARGIN per side, the subject placed at random inside; the scene fills the canvas.
    """
    scale = min(1.0, LONGEST / max(stamp.size))
    if scale < 1:
        size = (max(1, round(stamp.width * scale)), max(1, round(stamp.height * scale)))
        stamp = stamp.convert("RGBa").resize(size, Image.Resampling.LANCZOS).convert("RGBA")
    rgba = np.asarray(stamp, np.float64) / 255
    h, w = rgba.shape[:2]
    height, width = (int(side * rng.uniform(*MARGIN)) for side in (h, w))
    y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    alpha = np.zeros((height, width))
    alpha[y:y + h, x:x + w] = np.rint(rgba[..., 3] * 255) / 255  # the truth is 8-bit: the image is made from it
    colour = np.zeros((height, width, 3))
    colour[y:y + h, x:x + w] = rgba[..., :3]
    colour[alpha == 0] = 0
    cover = max(width / background.width, height / background.height)
    scene = background.resize((max(width, round(background.width * cover)), max(height, round(background.height * cover))),
                              Image.Resampling.LANCZOS)
    top, left = (scene.height - height) // 2, (scene.width - width) // 2
    scene = np.asarray(scene, np.float64)[top:top + height, left:left + width] / 255
    image = colour * alpha[..., None] + scene * (1 - alpha[..., None])
    return tuple(np.rint(a * 255).astype(np.uint8) for a in (image, alpha, colour))
