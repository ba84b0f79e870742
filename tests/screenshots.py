"""The page's main states as the README shows them (python3 build.py screenshots): docs/page-*.png.

Drives the built page in Chromium as a person would, with scikit-image's photos and the page's default
model, and saves: empty, a batch at work, the compare view, a new background, phone width, dark scheme.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "py")]

from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from conftest import BOOT_TIMEOUT_MS, RESULT_TIMEOUT_MS, serving  # noqa: E402

PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png")
BUSY = ".card[data-state=queued], .card[data-state=working], .card[data-state=updating]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder of scikit-image's test photos")
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs")
    parser.add_argument("--model", default="isnet-medium")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    photos = [str(args.photos / name) for name in PHOTOS]
    with serving() as (_, url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def open_page(**options):
            page = browser.new_page(**{"viewport": {"width": 1200, "height": 860}, **options})
            page.goto(f"{url}?model={args.model}")
            page.wait_for_selector("body[data-engine=ready]", timeout=BOOT_TIMEOUT_MS)
            return page

        def settle(page):
            expect(page.locator(BUSY)).to_have_count(0, timeout=RESULT_TIMEOUT_MS)

        def shot(page, name):
            page.screenshot(path=str(args.out / f"page-{name}.png"))
            print(f"docs/page-{name}.png")

        page = open_page()
        shot(page, "empty")
        page.set_input_files("#files", photos)
        page.locator(".card .status", has_text="Finding the subject").first.wait_for(timeout=RESULT_TIMEOUT_MS)
        page.locator(".card").nth(1).scroll_into_view_if_needed()
        shot(page, "working")
        settle(page)
        page.locator(".card .thumb").first.click()
        page.fill("#split", "45")
        page.locator("#viewer").scroll_into_view_if_needed()
        shot(page, "batch")
        page.select_option("#background", "blur")
        settle(page)
        page.locator("#viewer").scroll_into_view_if_needed()
        shot(page, "background")
        page.close()

        for name, options in (("phone", {"viewport": {"width": 360, "height": 780}}), ("dark", {"color_scheme": "dark"})):
            page = open_page(**options)
            page.set_input_files("#files", photos[1:3])
            settle(page)
            if name == "dark":
                page.click("#mask-view")
            shot(page, name)
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
