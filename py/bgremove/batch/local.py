"""A batch on this machine: in this process, or in N worker processes that split the cores.

Each worker runs onnxruntime on cores/N threads, so N workers never ask for more threads than
there are cores. A worker that dies (out of memory, a crash) takes only its pool with it: the
images it and the others were cutting out are done again in a new pool, and an image that was in
flight at two deaths is reported as worker_lost instead of being tried for ever.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .. import errors
from .report import FAILED, Row
from .sources import Job
from .work import Settings, cut_out, row_for

ATTEMPTS = 2


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(jobs: list[Job], settings: Settings, workers: int, on_row: Callable[[Row], None]) -> None:
    """Cut out every job, calling on_row(row) as each one ends, in the order they end."""
    if workers <= 1:
        for job in jobs:
            on_row(cut_out(job, settings))
        return
    if not settings.threads:
        settings = dataclasses.replace(settings, threads=max(1, cores() // workers))
    pending, attempts = deque(jobs), Counter()
    # spawn, not fork: a worker starts clean, with no copy of this process's threads or memory.
    context = multiprocessing.get_context("spawn")
    while pending:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            lost = _run_pool(pool, pending, settings, workers, on_row)
        for job in lost:
            attempts[job] += 1
            if attempts[job] >= ATTEMPTS:
                on_row(row_for(job, settings, FAILED, errors.WORKER_LOST,
                               f"The worker process cutting it out died {ATTEMPTS} times (out of memory?)."))
            else:
                pending.appendleft(job)


def _run_pool(pool, pending: deque, settings: Settings, workers: int, on_row) -> list[Job]:
    """Feed the pool one job per worker at a time until all are done or it breaks; the jobs it lost."""
    running: dict = {}
    while pending or running:
        # No more in flight than workers: when one dies, few images are blamed and done again.
        while pending and len(running) < workers:
            job = pending.popleft()
            running[pool.submit(cut_out, job, settings)] = job
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        if any(isinstance(future.exception(), BrokenProcessPool) for future in finished):
            wait(running)  # a broken pool settles every future: with its result, or as lost
            finished = set(running)
        lost = []
        for future in finished:
            job = running.pop(future)
            if isinstance(future.exception(), BrokenProcessPool):
                lost.append(job)
            else:
                on_row(future.result())
        if lost:
            return lost
    return []
