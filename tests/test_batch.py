"""The command line on folders, lists and globs (py/bgremove/cli.py, py/bgremove/batch/): layout,
resuming, atomic results, the report, worker processes and their deaths. u2netp throughout.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bgremove.batch import work
from bgremove.batch.outputs import is_complete
from bgremove.batch.sources import Job
from conftest import ROOT

OPTIONS = {"model": "u2netp", "preset": "balanced", "output": "foreground", "format": "png", "quality": 0.9}


def command(*args) -> list[str]:
    return [sys.executable, "-m", "bgremove", *map(str, args), "--model", "u2netp"]


def bgremove(*args) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=ROOT, capture_output=True, text=True, timeout=600)


def start(*args, **popen) -> subprocess.Popen:
    """The command running as from a terminal: with Ctrl+C's default action even when these tests run in a
    background job, whose processes inherit SIGINT ignored (Python then never raises KeyboardInterrupt)."""
    return subprocess.Popen(command(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def report_of(out: Path) -> dict:
    return json.loads((out / "bgremove-report.json").read_text())


def by_source(report: dict) -> dict:
    return {Path(row["source"]).name: row for row in report["files"]}


@pytest.fixture
def shop(images, tmp_path) -> Path:
    """A folder as people have them: sub-folders, a broken photo, notes, hidden files."""
    root = tmp_path / "shop"
    for name, source in (("cup.png", "coffee.png"), ("red/astronaut.png", "astronaut.png"),
                         ("red/shoes/cat.png", "chelsea.png"), ("blue/rocket.jpg", "rocket.jpg")):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(images / source, root / name)
    (root / "blue" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (root / "red" / "notes.txt").write_text("prices")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / ".thumbnails").mkdir()
    shutil.copy(images / "coffee.png", root / ".thumbnails" / "cup.png")
    return root


def test_a_folder_keeps_its_layout_and_a_bad_file_does_not_stop_the_run(shop, tmp_path, images, native):
    out = tmp_path / "out"
    run = bgremove(shop, out, "--workers", "2")
    assert run.returncode == 1, run.stderr
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["bgremove-report.json", "blue/rocket.png", "cup.png", "red/astronaut.png", "red/shoes/cat.png"]
    report = report_of(out)
    rows = by_source(report)
    assert rows["broken.jpg"]["status"] == "failed" and rows["broken.jpg"]["code"] == "corrupt_image", rows
    assert "broken.jpg: error [corrupt_image]" in run.stderr
    assert report["summary"] | {"seconds": 0, "images_per_second": 0} == {
        "files": 5, "done": 4, "exists": 0, "failed": 1, "ignored": 1, "seconds": 0, "images_per_second": 0}
    for name, row in rows.items():
        assert set(row) == {"source", "target", "status", "code", "message", "seconds", "model", "device", "width", "height"}
        assert row["model"] == "u2netp" and row["seconds"] >= 0
    assert rows["cat.png"]["device"] == "cpu" and rows["cat.png"]["width"] == 451
    # The same bytes as one remover in this process.
    expected = native(lambda r: r.remove((images / "chelsea.png").read_bytes(), OPTIONS)).image
    assert (out / "red" / "shoes" / "cat.png").read_bytes() == expected


def test_a_second_run_keeps_whole_results_and_redoes_the_rest(shop, tmp_path):
    out = tmp_path / "out"
    bgremove(shop, out, "--workers", "1")
    kept, cut_short, removed = out / "cup.png", out / "red" / "astronaut.png", out / "blue" / "rocket.png"
    kept_time = kept.stat().st_mtime_ns
    cut_short.write_bytes(cut_short.read_bytes()[:5000])
    removed.unlink()
    run = bgremove(shop, out, "--workers", "1")
    assert run.returncode == 1 and "2 kept from an earlier run" in run.stderr
    rows = by_source(report_of(out))
    assert [rows[n]["status"] for n in ("cup.png", "cat.png", "astronaut.png", "rocket.jpg")] == \
        ["exists", "exists", "done", "done"]
    assert kept.stat().st_mtime_ns == kept_time and is_complete(cut_short) and is_complete(removed)
    run = bgremove(shop, out, "--workers", "1", "--overwrite")
    assert by_source(report_of(out))["cup.png"]["status"] == "done" and kept.stat().st_mtime_ns != kept_time


def many(images, folder: Path, count: int) -> Path:
    folder.mkdir()
    photos = sorted(p for p in images.iterdir() if p.suffix in (".png", ".jpg"))
    for i in range(count):
        shutil.copy(photos[i % len(photos)], folder / f"{i:03d}{photos[i % len(photos)].suffix}")
    return folder


def wait_for(condition, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def results(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.png"))


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_stopped_run_leaves_only_whole_files_and_the_next_run_finishes(images, tmp_path, how):
    photos, out = many(images, tmp_path / "in", 8), tmp_path / "out"
    process = start(photos, out, "--workers", "2", start_new_session=True)
    wait_for(lambda: len(results(out)) >= 2)
    os.killpg(process.pid, how)  # the whole group, as Ctrl+C or a machine going down would
    _, stderr = process.communicate(timeout=60)
    assert all(is_complete(p) for p in results(out)), "no result is half written"
    if how == signal.SIGINT:
        assert process.returncode == 130 and "interrupted: run the same command again" in stderr, stderr
        assert all(row["status"] == "done" for row in report_of(out)["files"])
    run = bgremove(photos, out, "--workers", "2")
    assert run.returncode == 0, run.stderr
    assert len(results(out)) == 8 and not [p for p in out.rglob("*") if p.name.endswith(".part")]
    summary = report_of(out)["summary"]
    assert summary["done"] + summary["exists"] == 8 and summary["exists"] >= 2


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_worker_killed_mid_run_has_its_images_done_again(images, tmp_path):
    photos, out = many(images, tmp_path / "in", 10), tmp_path / "out"
    process = start(photos, out, "--workers", "2")
    wait_for(lambda: len(results(out)) >= 2)
    workers = [pid for pid in children(process.pid)
               if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    rows = report_of(out)["files"]
    assert sorted(Path(r["source"]).name for r in rows) == sorted(p.name for p in photos.iterdir())
    assert all(r["status"] == "done" for r in rows) and len(results(out)) == 10


def test_files_globs_a_csv_report_and_names_that_clash(images, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    shutil.copy(images / "coffee.png", tmp_path / "a" / "x.png")
    shutil.copy(images / "rocket.jpg", tmp_path / "b" / "x.jpg")
    shutil.copy(images / "astronaut.png", tmp_path / "b" / "y.png")
    out, csv_report = tmp_path / "out", tmp_path / "report.csv"
    run = bgremove(tmp_path / "a" / "x.png", f"{tmp_path}/b/*", out, "--report", csv_report, "--format", "webp")
    assert run.returncode == 1
    rows = {Path(r["source"]).relative_to(tmp_path).as_posix(): r for r in csv.DictReader(csv_report.open())}
    assert {k: (r["status"], r["code"]) for k, r in rows.items()} == {
        "a/x.png": ("done", ""), "b/x.jpg": ("failed", "name_clash"), "b/y.png": ("done", "")}
    assert sorted(p.name for p in out.iterdir()) == ["x.webp", "y.webp"]


def test_the_progress_bar_says_images_per_second_and_time_left(images, tmp_path):
    run = bgremove(many(images, tmp_path / "in", 3), tmp_path / "out", "--workers", "1")
    bar = run.stderr.replace("\r", "\n").splitlines()
    assert any("3/3 [" in line and "image/s]" in line or "s/image]" in line for line in bar), run.stderr
    assert any("1/3 [" in line and "<" in line for line in bar), "elapsed<remaining"


def test_one_image_and_what_the_command_refuses(images, tmp_path):
    (tmp_path / "cup.jpg").write_bytes((images / "rocket.jpg").read_bytes())
    run = bgremove(images / "coffee.png", tmp_path / "cup.jpg", "-q")
    assert run.returncode == 0 and "1 cut out" in run.stderr, "a file named for one image is written as asked"
    assert Image.open(tmp_path / "cup.jpg").size == (600, 400)
    assert not (tmp_path / "bgremove-report.json").exists()
    for args, says in (((images / "coffee.png",), "say where the results go"),
                       ((tmp_path / "nowhere", tmp_path / "out"), "no such file, folder or matching file"),
                       ((images, tmp_path / "cup.jpg"), "the results of a batch go into a folder"),
                       ((images, tmp_path / "out", "--quality", "7"), "[bad_option]")):
        run = bgremove(*args)
        assert run.returncode == 2 and says in run.stderr, (args, run.stderr)


def test_a_worker_makes_one_session_for_all_its_images(images, tmp_path):
    settings = work.Settings(OPTIONS)
    rows = [work.cut_out(Job(images / name, tmp_path / f"{i}.png"), settings)
            for i, name in enumerate(["coffee.png", "astronaut.png", "rocket.jpg"] * 2)]
    assert [row.status for row in rows] == ["done"] * 6, rows[0]
    assert work.current_remover().loaded_sessions == [("u2netp", "cpu")]


def test_the_command_line_puts_cut_outs_on_the_photo_blurred_or_an_image_and_moves_the_edge(images, tmp_path):
    from bgremove.backdrops import cover
    from conftest import rgba_of

    plain, blurred, on_image, hard = (tmp_path / f"{name}.png" for name in ("plain", "blurred", "image", "hard"))
    backdrop = images / "astronaut.png"
    for out, extra in ((plain, ()), (blurred, ("--background", "blur")), (on_image, ("--background", backdrop)),
                       (hard, ("--softness", "0"))):
        run = bgremove(images / "coffee.png", out, *extra)
        assert run.returncode == 0, run.stderr
    cut = rgba_of(plain.read_bytes())
    clear = cut[..., 3] == 0
    assert np.all(rgba_of(blurred.read_bytes())[..., 3] == 255)
    assert np.array_equal(rgba_of(on_image.read_bytes())[clear][:, :3], cover(rgba_of(backdrop.read_bytes()), 600, 400)[clear])
    assert set(np.unique(rgba_of(hard.read_bytes())[..., 3])) <= {0, 255}
    refused = bgremove(images / "coffee.png", tmp_path / "x.png", "--background", "plaid")
    assert refused.returncode == 2 and "bad_option" in refused.stderr
