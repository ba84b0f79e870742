"""build.py eval (py/tools/evaluation.py)'s two modes on a tiny set built here: a disc with known alpha over a real photo."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from tools import evaluation
from conftest import ROOT, rgba_of


def run_eval(args, cache):
    env = dict(os.environ, BGREMOVE_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "tools.evaluation", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env)


def make_set(folder, images):
    background = Image.open(images / "coffee.png").convert("RGB").resize((300, 200))
    yy, xx = np.mgrid[:200, :300]
    alpha = np.clip(40 - np.hypot(yy - 100, xx - 150), 0, 1)  # a disc with a one-pixel soft rim
    colour = np.array([230, 40, 40], np.float64)
    image = alpha[..., None] * colour + (1 - alpha[..., None]) * np.asarray(background, np.float64)
    items = []
    for name, canvas in (("wide", (slice(None), slice(None))), ("tall", (slice(None), slice(75, 225)))):
        for sub in ("images", "gt", "fg"):
            (folder / sub).mkdir(exist_ok=True)
        Image.fromarray(np.rint(image[canvas]).astype(np.uint8)).save(folder / f"images/{name}.jpg", quality=95)
        Image.fromarray(np.rint(alpha[canvas] * 255).astype(np.uint8)).save(folder / f"gt/{name}.png")
        fg = np.zeros(alpha[canvas].shape + (3,), np.uint8)
        fg[alpha[canvas] > 0] = colour
        Image.fromarray(fg).save(folder / f"fg/{name}.png")
        items.append({"id": name, "bucket": name, "source": "test+coffee", "subject": "product",
                      "image": f"images/{name}.jpg",
                      "gt": f"gt/{name}.png", "fg": f"fg/{name}.png"})
    (folder / "manifest.json").write_text(json.dumps({"items": items}))


def test_scores_every_variant_and_writes_the_report(images, tmp_path):
    make_set(tmp_path, images)
    report = tmp_path / "eval.md"
    run = run_eval(["--set", str(tmp_path), "--model", "u2netp", "--report", str(report)], tmp_path / "cache")
    assert run.returncode == 0, run.stderr
    assert any((tmp_path / "cache" / "eval-outputs").iterdir()), "raw model outputs are cached"
    text = report.read_text()
    for heading in ("## Overall", "## By aspect-ratio bucket", "## By kind of subject", "## By source"):
        assert heading in text
    # The disc is a hard-edged opaque subject; the kinds the set lacks are named, not left out.
    assert "| hard-edged opaque | 2 |" in text and "| see-through | 0 | | | | not in this set |" in text
    for variant in evaluation.VARIANTS:
        assert f"| {variant} |" in text
    assert "| squash + bilinear (reference, fast) | tall |" in text


def test_cuts_out_a_folder_and_reports_bad_files(images, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "cup.png").write_bytes((images / "coffee.png").read_bytes())
    (source / "notes.txt").write_text("not an image")
    run = run_eval(["--images", str(source), "--out", str(tmp_path / "out"), "--model", "u2netp", "--preset", "fast"],
                   tmp_path / "cache")
    assert run.returncode == 1 and "notes.txt: error [not_an_image]" in run.stderr
    assert rgba_of((tmp_path / "out" / "cup.png").read_bytes()).shape == (400, 600, 4)
