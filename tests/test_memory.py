"""Memory comes back: repeated create/remove/dispose cycles, and switching models.

Measured with performance.measureUserAgentSpecificMemory (cross-origin isolated pages only;
Chromium runs with ForceEagerMeasureMemory so it answers at once). It counts each worker's JS
heap and its shared WebAssembly memory (onnxruntime's), not one that is not shared (Python's
heap): a disposed worker takes both with it. A worker whose ORT threads are parked cannot
answer until they wake (a minute), so the live footprint is measured on a single-threaded
remover, on a blank page of the app's origin rather than the demo page, whose own remover
holds such threads.
"""
import time

import pytest

from conftest import blank_page

pytestmark = pytest.mark.browser

MB = 1 << 20
CYCLES = 6

MEASURE = "async () => (await performance.measureUserAgentSpecificMemory()).bytes"
# A measurement taken while a worker is still terminating waits a full minute for it; a few
# seconds after dispose() the worker is gone and the answer is immediate.
TERMINATION_S = 3
SETUP = """async () => {
    const { createRemover } = await import("./static/client/remover.js");
    const canvas = new OffscreenCanvas(640, 480);
    const context = canvas.getContext("2d");
    context.fillStyle = "#2a7"; context.fillRect(0, 0, 640, 480);
    context.fillStyle = "#c33"; context.fillRect(200, 100, 240, 300);
    const photo = await canvas.convertToBlob();
    window.cycle = async (options, measureAlive) => {
        const remover = createRemover({ model: "u2netp", ...options });
        await remover.remove(photo);
        const alive = measureAlive ? (await performance.measureUserAgentSpecificMemory()).bytes : null;
        remover.dispose();
        return alive;
    };
}"""


@pytest.fixture
def page(chromium, server):
    page = blank_page(chromium, server)
    yield page
    page.close()


def after_dispose(page) -> int:
    time.sleep(TERMINATION_S)
    return page.evaluate(MEASURE)


def test_create_remove_dispose_cycles_do_not_grow_memory(page):
    assert page.evaluate("crossOriginIsolated")
    page.evaluate(SETUP)
    base = page.evaluate(MEASURE)
    alive = page.evaluate("cycle({ threads: 1 }, true)")
    footprint = alive - base
    assert footprint > 100 * MB, f"a live remover holds {footprint / MB:.0f} MB: the measurement sees workers"

    after = []
    for _ in range(CYCLES):
        page.evaluate("cycle({}, false)")
        after.append(after_dispose(page))
    growth = [(bytes_ - base) / MB for bytes_ in after]
    print(f"memory: base {base / MB:.0f} MB, one live remover +{footprint / MB:.0f} MB, "
          f"after each of {CYCLES} dispose cycles: " + ", ".join(f"{g:+.1f}" for g in growth) + " MB")
    assert max(growth) < footprint / MB / 10, "a disposed remover's memory is given back"
    assert growth[-1] - growth[0] < 8, "no growth from one cycle to the next"


def test_switching_models_releases_the_previous_session_unless_kept(page):
    released = page.evaluate("""async () => {
        const { createRemover } = await import("./static/client/remover.js");
        const loaded = {};
        for (const keepModels of [false, true]) {
            const remover = createRemover({ keepModels });
            for (const model of ["u2netp", "isnet-small"]) await remover.preload({ model });
            loaded[keepModels] = await remover.release();
            remover.dispose();
        }
        return loaded;
    }""")
    assert released == {"false": ["isnet-small"], "true": ["u2netp", "isnet-small"]}
