"""A batch on a Dask cluster (distributed): the same jobs and worker code as on one machine, on
every worker process of the cluster, each holding its own model session.

Dask, not Ray (docs/batch.md says why, with the figures). The inputs and outputs are paths that
every worker can reach (one machine, or a shared file system). A worker that dies has its images
rescheduled on the others by Dask's scheduler; results are written atomically, so an image done
twice still leaves one whole file and one row.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .. import errors
from .report import FAILED, Row
from .sources import Job
from .work import Settings, cut_out, row_for


def _cut_out_on_worker(job: Job, settings: Settings) -> Row:
    from distributed import get_worker

    # The cores the cluster gave this worker are onnxruntime's threads; the worker runs one image at a time.
    threads = settings.threads or get_worker().state.nthreads
    return cut_out(job, dataclasses.replace(settings, threads=threads))


def run(jobs: list[Job], settings: Settings, address: str, on_row: Callable[[Row], None]) -> None:
    """Cut out every job on the cluster at `address` (a scheduler's, such as tcp://10.0.0.5:8786)."""
    from distributed import Client, KilledWorker, as_completed

    try:
        client = Client(address)  # waits as long as Dask's config says (distributed.comm.timeouts.connect)
    except OSError as error:
        raise ConnectionError(f"Cannot reach the Dask scheduler at {address}: {error}") from error
    with client:
        futures = client.map(_cut_out_on_worker, jobs, settings=settings, pure=False)
        job_of = {future.key: job for future, job in zip(futures, jobs)}
        finished = as_completed(futures)
        # Only as_completed holds the futures now: each is released once read, so a worker that dies
        # later holds no result that Dask would compute again.
        del futures
        for future in finished:
            job = job_of.pop(future.key)
            try:
                on_row(future.result())
            except KilledWorker:  # Dask gave up on it: every worker that took it died
                on_row(row_for(job, settings, FAILED, errors.WORKER_LOST,
                               "Every cluster worker that took it died (out of memory?)."))
            except Exception as error:  # the worker could not run it at all (bgremove missing there, say)
                on_row(row_for(job, settings, FAILED, errors.INTERNAL, f"On the cluster: {type(error).__name__}: {error}"))
            future.release()
