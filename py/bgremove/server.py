"""`bgremove serve`: the pipeline over HTTP, for a server that needs one (Starlette on uvicorn).

    POST /remove?model=u2netp&output=mask&format=webp   body: the image's bytes -> the result's bytes
    GET  /health                                        -> {"ok": true, "busy": n, "capacity": n}

Bounded on every side, so a burst cannot grow its memory: a body over --max-bytes is refused (413);
at most --queue requests wait for the one being cut out, and any more are turned away at once
(503, Retry-After); a request that takes longer than --timeout answers 504. Images come only in
the request body: no URL given by a caller is ever fetched. It listens on 127.0.0.1 unless told
otherwise. Errors answer {"code", "message"} with the pipeline's stable codes.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import errors
from .batch.work import Settings, remove
from .errors import BgRemoveError
from .models import DEFAULT_MODEL
from .options import DEFAULT_PRESET, Options

# Request options taken from the query string; anything else is refused as bad_option.
QUERY_OPTIONS = ("model", "preset", "output", "format", "quality", "background", "threshold", "softness")
NUMBERS = ("quality", "threshold", "softness")
STATUS = {errors.BAD_OPTION: 400, errors.EMPTY_INPUT: 400, errors.NOT_AN_IMAGE: 415, errors.UNSUPPORTED_FORMAT: 415,
          errors.CORRUPT_IMAGE: 422, errors.TOO_LARGE: 413}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 40 << 20
    queue: int = 4            # requests waiting behind the one being cut out
    timeout_s: float = 120.0


def app(settings: Settings, limits: Limits):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    # One thread cuts out, with the process's one session; the event loop only takes and answers.
    cutter = ThreadPoolExecutor(1, thread_name_prefix="bgremove")
    capacity = 1 + limits.queue
    state = {"busy": 0}

    def refuse(status: int, code: str, message: str, **headers) -> Response:
        return JSONResponse({"code": code, "message": message}, status, headers=headers)

    async def health(request):
        return JSONResponse({"ok": True, "busy": state["busy"], "capacity": capacity})

    async def remove_one(request):
        unknown = sorted(set(request.query_params) - set(QUERY_OPTIONS))
        if unknown:
            return refuse(400, errors.BAD_OPTION, f"Unknown parameter {unknown[0]!r}; known: {', '.join(QUERY_OPTIONS)}.")
        options = {**settings.options, **request.query_params}
        try:
            for number in NUMBERS:
                if number in options:
                    options[number] = float(options[number])
            options = Options.parse(options)
        except ValueError:
            return refuse(400, errors.BAD_OPTION, f"Parameter {number!r} must be a number from 0 to 1.")
        except BgRemoveError as error:
            return refuse(400, error.code, error.message)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            return refuse(413, errors.TOO_LARGE, f"The body is over {limits.max_bytes} bytes.")
        if state["busy"] >= capacity:
            return refuse(503, errors.BUSY, f"{state['busy']} requests are in hand; try again shortly.",
                          **{"Retry-After": "1"})
        state["busy"] += 1
        try:
            data = await _read(request, limits.max_bytes)
        except BaseException:
            release()
            raise
        if data is None:
            release()
            return refuse(413, errors.TOO_LARGE, f"The body is over {limits.max_bytes} bytes.")
        work = asyncio.get_running_loop().run_in_executor(cutter, remove, data, settings, options)
        # The slot is free when the cutting is done, not when the caller stops waiting: a thread cannot
        # be stopped, and the bound is on the work in hand.
        work.add_done_callback(release)
        try:
            result = await asyncio.wait_for(asyncio.shield(work), limits.timeout_s)
        except TimeoutError:
            return refuse(504, errors.TIMED_OUT, f"Not done within {limits.timeout_s:g} s.")
        except BgRemoveError as error:
            return refuse(STATUS.get(error.code, 500), error.code, error.message)
        except Exception as error:  # a bug of ours: this request fails, the server goes on
            return refuse(500, errors.INTERNAL, f"{type(error).__name__}: {error}")
        return Response(result.image, media_type=result.mime, headers={
            "X-Bgremove-Size": f"{result.width}x{result.height}", "X-Bgremove-Model": result.model,
            "X-Bgremove-Device": result.device})

    def release(_=None) -> None:
        state["busy"] -= 1

    return Starlette(routes=[Route("/remove", remove_one, methods=["POST"]), Route("/health", health)])


async def _read(request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` (whatever Content-Length said)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bgremove serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    p.add_argument("--port", type=int, default=8100, help="0 picks a free one")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--preset", default=DEFAULT_PRESET)
    p.add_argument("--models-dir")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (default: the cores)")
    p.add_argument("--max-bytes", type=int, default=Limits.max_bytes)
    p.add_argument("--queue", type=int, default=Limits.queue)
    p.add_argument("--timeout", type=float, default=Limits.timeout_s, help="seconds per request")
    args = p.parse_args(argv)
    import uvicorn

    settings = Settings({"model": args.model, "preset": args.preset}, args.models_dir, args.threads)
    server = uvicorn.Server(uvicorn.Config(app(settings, Limits(args.max_bytes, args.queue, args.timeout)),
                                           log_level="warning"))
    # Bound here, so that the address (and a port picked with --port 0) can be said before serving.
    listening = socket.create_server((args.host, args.port))
    host, port = listening.getsockname()[:2]
    print(f"bgremove serve: listening on http://{host}:{port}/remove", file=sys.stderr, flush=True)
    server.run(sockets=[listening])
    return 0
