"""One image of a batch, in whichever process runs it: read, cut out, write atomically, report (and
one image of the HTTP server's, bytes in and out).

Each process holds one Remover, made on its first job and kept: one model session per process,
never one per image.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from .. import errors
from ..errors import BgRemoveError
from ..options import Options
from .outputs import write_atomically
from .report import DONE, FAILED, Row
from .sources import Job


@dataclass(frozen=True)
class Settings:
    options: dict                    # for Options.parse: model, preset, output, format, quality, background
    models_dir: str | None = None
    threads: int = 0                 # onnxruntime's threads in each process (0: as many as cores)
    backdrop: bytes | None = None    # the encoded image for background "image"


_state: dict = {}
# One image at a time per process, whatever runs it (a pool's worker, a Dask worker's threads, the
# HTTP server's): the session's onnxruntime threads are the parallelism inside a process.
_one_at_a_time = threading.Lock()


def _remover(settings: Settings):
    key = (settings.models_dir, settings.threads)
    if _state.get("key") != key:
        from ..hosts.native import NativeHost
        from ..pipeline import Remover

        _state.update(key=key, remover=Remover(NativeHost(settings.models_dir, settings.threads)),
                      loop=asyncio.new_event_loop())
    return _state["remover"], _state["loop"]


def current_remover():
    """This process's Remover, if it has cut anything out yet."""
    return _state.get("remover")


def remove(data: bytes, settings: Settings, options: Options | None = None):
    """One encoded image cut out by this process's Remover (a pipeline Result), with `options` or the
    settings' own; raises BgRemoveError."""
    options = options or Options.parse(settings.options)
    with _one_at_a_time:
        remover, loop = _remover(settings)
        return loop.run_until_complete(remover.remove(data, options, backdrop=settings.backdrop))


def row_for(job: Job, settings: Settings, status: str, code: str | None = None, message: str | None = None) -> Row:
    """A report row for a job, before (or instead of) cutting it out."""
    return Row(str(job.source), str(job.target), status, code, message, model=settings.options.get("model"))


def cut_out(job: Job, settings: Settings) -> Row:
    """Never raises for a bad file: its row says what went wrong, and the batch goes on."""
    started = time.perf_counter()
    row = row_for(job, settings, FAILED)
    try:
        result = remove(job.source.read_bytes(), settings)
        write_atomically(job.target, result.image)
        row.status, row.device, row.width, row.height = DONE, result.device, result.width, result.height
    except BgRemoveError as error:
        row.code, row.message = error.code, error.message
    except OSError as error:
        row.code, row.message = errors.IO_ERROR, f"{error.strerror or error}: {error.filename or job.source}"
    except Exception as error:  # a bug of ours: say so for this file, and go on with the others
        row.code, row.message = errors.INTERNAL, f"{type(error).__name__}: {error}"
    row.seconds = round(time.perf_counter() - started, 3)
    return row
