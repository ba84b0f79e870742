"""The other two engine families, Firefox (Gecko) and WebKit, behind one small interface for the tests.

Firefox ESR is Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core (tests/engines/,
an npm app pinned by its lockfile); WebKit is Debian's WebKitGTK MiniBrowser, driven by its
WebKitWebDriver through Selenium, on an Xvfb display of its own. Chromium is Playwright's
(conftest.py). Each driver opens one page and can: open(url), evaluate(expression) (awaited, its
value JSON), upload(selector, paths) and wait_for(expression).
"""
from __future__ import annotations

import base64
import json
import mimetypes
import os
import shutil
import subprocess
import time
from pathlib import Path

from tools import fixtures

ENGINES = Path(__file__).resolve().parent / "engines"
FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"
# What each engine needs on this machine, and the Debian package that has it (.ci/run installs them).
NEEDS = {
    "firefox": ((FIREFOX, "firefox-esr"),),
    "webkit": ((WEBKIT_DRIVER, "webkit2gtk-driver"), (MINIBROWSER, "webkit2gtk-driver"), (XVFB, "xvfb")),
}


def missing(engine: str) -> list[str]:
    """The Debian packages an engine still needs here."""
    return sorted({package for path, package in NEEDS[engine] if not os.access(path, os.X_OK)})


def install_hint(engine: str) -> str:
    packages = " ".join(missing(engine))
    return f"{engine} needs {packages}: sudo apt-get install {packages} (bash .ci/run installs it)"


class Driver:
    def wait_for(self, expression: str, timeout_s: float = 240, state: str = "null") -> None:
        """Polls until expression is true; on a timeout the error carries the page's `state` (an expression)."""
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(f"Boolean({expression})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: still not true after {timeout_s} s: {expression}; "
                                   f"the page: {json.dumps(self.evaluate(state))}; "
                                   f"its console: {json.dumps(self.console()[-40:])}")
            time.sleep(0.5)

    def console(self) -> list[str]:
        return []  # WebDriver classic hears no console


class Firefox(Driver):
    name = "firefox"

    def __init__(self):
        app = fixtures.npm_ci(ENGINES, "the Firefox driver (puppeteer-core)")
        shutil.copy(ENGINES / "firefox.mjs", app / "firefox.mjs")
        self.process = subprocess.Popen(["node", str(app / "firefox.mjs"), FIREFOX], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, cwd=app)
        self.version = self._answer()

    def _answer(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the Firefox driver ended")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"firefox: {answer['error']}")
        return answer.get("value", answer.get("version"))

    def _send(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def open(self, url: str) -> None:
        self._send(op="open", url=url)

    def evaluate(self, expression: str):
        return self._send(op="evaluate", script=expression)

    def upload(self, selector: str, paths: list[Path]) -> None:
        files = [{"name": p.name, "type": mimetypes.guess_type(p.name)[0] or "",
                  "base64": base64.b64encode(p.read_bytes()).decode()} for p in paths]
        self._send(op="upload", selector=selector, files=files)

    def page_errors(self) -> list[str]:
        # Firefox reports an <img> it cannot decode (a bad file's preview) as a page error, too.
        return [e for e in self._send(op="errors") if e != "Image corrupt or truncated."]

    def console(self) -> list[str]:
        return self._send(op="console")

    def close(self) -> None:
        self._send(op="close")
        self.process.wait(30)
        self.process.stdin.close()
        self.process.stdout.close()


class WebKit(Driver):
    name = "webkit"

    def __init__(self):
        from selenium import webdriver

        # A display of its own: the lowest free one from :90.
        display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
        self.xvfb = subprocess.Popen([XVFB, f":{display}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        options = webdriver.WebKitGTKOptions()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER, env={**os.environ, "DISPLAY": f":{display}"})
        self.driver = webdriver.WebKitGTK(options=options, service=service)
        self.driver.set_script_timeout(300)
        self.version = self.driver.capabilities.get("browserVersion")

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.evaluate("(self.__errors = [], addEventListener('error', (e) => __errors.push(e.message)), "
                      "addEventListener('unhandledrejection', (e) => __errors.push(String(e.reason))), null)")

    def evaluate(self, expression: str):
        value = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"(async () => ({expression}))().then(done, (error) => done({{__error: String(error)}}));")
        if isinstance(value, dict) and "__error" in value:
            raise RuntimeError(f"webkit: {value['__error']}")
        return value

    def upload(self, selector: str, paths: list[Path]) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).send_keys("\n".join(str(p) for p in paths))

    def page_errors(self) -> list[str]:
        return self.evaluate("__errors.splice(0)")  # heard since open(): WebDriver classic reports none itself

    def close(self) -> None:
        self.driver.quit()
        self.xvfb.terminate()
        self.xvfb.wait(10)


DRIVERS = {"firefox": Firefox, "webkit": WebKit}
