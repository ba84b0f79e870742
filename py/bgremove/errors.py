"""Errors a user can meet, each with a stable code that the UI and the API show."""
from __future__ import annotations


class BgRemoveError(Exception):
    """A failure with a stable, machine-readable `code` and a message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


EMPTY_INPUT = "empty_input"
NOT_AN_IMAGE = "not_an_image"
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_IMAGE = "corrupt_image"
TOO_LARGE = "too_large"
BAD_OPTION = "bad_option"
MODEL_LOAD_FAILED = "model_load_failed"
INFERENCE_FAILED = "inference_failed"
ABORTED = "aborted"
INTERNAL = "internal_error"
# The command line's own, per file of a batch.
IO_ERROR = "io_error"          # the file could not be read, or its result written
NAME_CLASH = "name_clash"      # two images would write the same result (photo.jpg and photo.png)
WORKER_LOST = "worker_lost"    # the process cutting it out died, twice (out of memory, a crash)
# The HTTP server's own (bgremove serve).
BUSY = "busy"                  # its queue is full: try again shortly (503)
TIMED_OUT = "timed_out"        # not done within its time limit (504)
