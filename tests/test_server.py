"""`bgremove serve` (py/bgremove/server.py): the pipeline over HTTP, bounded in body size, queue and
time, under a load made here. Loopback only; u2netp."""
import contextlib
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from conftest import ROOT

pytest.importorskip("uvicorn", reason="the server extra (assets.lock.json pins it for .venv)")


@contextlib.contextmanager
def serving(*args):
    process = subprocess.Popen([sys.executable, "-m", "bgremove", "serve", "--port", "0", "--model", "u2netp", *args],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"listening on (http://\S+)/remove", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(30)
        process.stderr.close()


def post(url: str, body: bytes, query: str = "") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(f"{url}/remove{query}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return json.load(response)


def test_it_cuts_out_as_one_process_does_and_says_what_it_refuses(images, native):
    photo = (images / "coffee.png").read_bytes()
    with serving("--max-bytes", "600000") as url:
        assert urlsplit(url).hostname == "127.0.0.1", "loopback unless told otherwise"
        status, headers, body = post(url, photo)
        assert status == 200 and headers["content-type"] == "image/png" and headers["x-bgremove-size"] == "600x400"
        assert body == native(lambda r: r.remove(photo, {"model": "u2netp"})).image
        status, headers, body = post(url, photo, "?output=mask&format=webp&quality=0.8")
        assert status == 200 and headers["content-type"] == "image/webp"
        for body, query, expected in ((b"just text", "", (415, "not_an_image")), (b"", "", (400, "empty_input")),
                                      (photo, "?url=http://127.0.0.1:9/x.png", (400, "bad_option")),
                                      (photo, "?quality=lots", (400, "bad_option")),
                                      (photo, "?model=nope", (400, "bad_option")),
                                      ((images / "astronaut.png").read_bytes(), "", (413, "too_large"))):
            status, _, answer = post(url, body, query)
            assert (status, json.loads(answer)["code"]) == expected, (query, answer)
        # A body without a Content-Length is cut off at the limit too: the answer comes while the
        # client is still sending, which may see the connection closed instead of reading it.
        host = urlsplit(url)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        try:
            connection.request("POST", "/remove", body=iter([b"\x89PNG" + b"\0" * 200_000] * 4), encode_chunked=True)
            response = connection.getresponse()
            assert response.status == 413 and json.loads(response.read())["code"] == "too_large"
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            connection.close()
        assert health(url) == {"ok": True, "busy": 0, "capacity": 5}


def test_a_burst_beyond_its_queue_is_turned_away_not_queued(images):
    photo = (images / "coffee.png").read_bytes()
    with serving("--queue", "1") as url:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post(url, photo), range(8)))
        statuses = sorted(status for status, _, _ in answers)
        assert set(statuses) == {200, 503} and statuses.count(200) >= 2, statuses
        for status, headers, body in answers:
            if status == 503:
                assert headers["retry-after"] == "1" and json.loads(body)["code"] == "busy"
        assert health(url)["busy"] == 0
        assert post(url, photo)[0] == 200, "and it serves again once the burst is over"


def test_a_request_over_its_time_answers_504_and_its_slot_comes_back(images):
    with serving("--timeout", "0.01", "--queue", "0") as url:
        status, _, body = post(url, (images / "astronaut.png").read_bytes())
        assert status == 504 and json.loads(body)["code"] == "timed_out"
        deadline = time.monotonic() + 60
        while health(url)["busy"]:  # the cut-out goes on to its end, holding its slot
            assert time.monotonic() < deadline
            time.sleep(0.2)
