"""`bgremove --cluster`: the batch on a real Dask cluster (a LocalCluster of two worker processes,
started here), with a worker killed mid-run. u2netp."""
import os
import signal
import time
from pathlib import Path

import pytest

from test_batch import OPTIONS, many, report_of, results, start, wait_for

distributed = pytest.importorskip("distributed", reason="the cluster extra (assets.lock.json pins it for .venv)")


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            distributed.Client(local) as client:
        yield local, client


def test_every_image_gets_one_output_identical_to_one_process_even_when_a_worker_dies(cluster, images, tmp_path, native):
    local, client = cluster
    photos, out = many(images, tmp_path / "in", 12), tmp_path / "out"
    process = start(photos, out, "--cluster", local.scheduler_address)
    wait_for(lambda: len(results(out)) >= 3, timeout_s=180)
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    rows = report_of(out)["files"]
    assert sorted(Path(r["source"]).name for r in rows) == sorted(p.name for p in photos.iterdir()), "each once"
    assert all(r["status"] == "done" and r["device"] == "cpu" for r in rows)
    assert [p.name for p in results(out)] == sorted(p.with_suffix(".png").name for p in photos.iterdir())
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    for photo in photos.iterdir():
        expected = native(lambda r: r.remove(photo.read_bytes(), OPTIONS)).image
        assert (out / photo.with_suffix(".png").name).read_bytes() == expected, photo.name
    deadline = time.monotonic() + 60
    while len(client.scheduler_info()["workers"]) < 2:  # the nanny started a new one
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_a_cluster_that_cannot_be_reached_is_said_plainly(images, tmp_path):
    photos = many(images, tmp_path / "in", 1)
    process = start(photos, tmp_path / "out", "--cluster", "tcp://127.0.0.1:9",
                    env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2 and "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in stderr, stderr
    assert "Traceback" not in stderr
