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
