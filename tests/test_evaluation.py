"""build.py eval (py/tools/evaluation.py)'s two modes on a tiny set built here: a disc with known alpha over a real photo."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from tools import evaluation, stamps
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
    for variant in (*evaluation.variants("u2netp"), *evaluation.FLIP_AVERAGED):
        assert f"| {variant} |" in text
    # On a model imgly lacks, the baseline is imgly's pipeline on its own model.
    assert next(iter(evaluation.variants("u2netp"))).startswith("reference on isnet-medium")
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


def test_a_stamp_is_composited_with_its_own_alpha_as_the_truth():
    # A disc with a soft rim, larger than stamps.LONGEST so that it is scaled down too.
    yy, xx = np.mgrid[:700, :640]
    alpha = np.clip(300 - np.hypot(yy - 350, xx - 320), 0, 1)
    stamp = np.zeros((700, 640, 4), np.uint8)
    stamp[..., :3] = (250, 120, 20)
    stamp[..., 3] = np.rint(alpha * 255)
    scene = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    image, truth, colour = stamps.composite(Image.fromarray(stamp), scene, np.random.default_rng(1))
    assert image.shape[:2] == truth.shape == colour.shape[:2]
    subject = np.argwhere(truth > 0)
    extent = subject.max(axis=0) - subject.min(axis=0) + 1
    assert max(extent) <= stamps.LONGEST and all(side >= 1.2 * max(extent) for side in truth.shape)
    soft = (truth > 0) & (truth < 255)
    assert soft.sum() > 500, "the rim stays soft"
    assert not colour[truth == 0].any()
    # The photo is exactly colour over some background by the truth: where alpha is 1 it is the colour.
    assert np.array_equal(image[truth == 255], colour[truth == 255])
    assert np.median(colour[truth == 255], axis=0).tolist() == [250, 120, 20]
    half = soft & (truth <= 128)  # where the background's share is large enough to read back
    a = truth[half][:, None] / 255
    background = (image[half] - colour[half] * a) / (1 - a)
    assert background.min() > -2 and background.max() < 257, "the rest is a real background, unmixed"
    assert background.std() > 30 and image[truth == 0].std() > 30, "the scene, not the subject's colour"
