// Firefox ESR for tests/engines.py: Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core,
// one page, commands as JSON lines on stdin, one JSON line of answer each on stdout.
//
//   {op: "open", url}                    -> {ok: true}
//   {op: "evaluate", script}             -> {ok: true, value}   (script: an expression, awaited)
//   {op: "upload", selector, files}      -> {ok: true}   (files: [{name, type, base64}])
//   {op: "close"}                        -> {ok: true}, then the process ends
// A failed command answers {ok: false, error}; page errors are kept and returned by {op: "errors"},
// the last console lines of the page and its workers by {op: "console"}.
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const [executablePath] = process.argv.slice(2);
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true,
  // This closed network has no proxy to find.
  extraPrefsFirefox: { "network.proxy.type": 0 },
});
const page = await browser.newPage();
const errors = [];
page.on("pageerror", (error) => errors.push(error.message));
const consoleLines = [];
page.on("console", (message) => {
  consoleLines.push(`${message.type()}: ${message.text()}`);
  if (consoleLines.length > 100) consoleLines.shift();
});

const commands = {
  open: ({ url }) => page.goto(url).then(() => undefined),
  evaluate: ({ script }) => page.evaluate(`(async () => (${script}))()`),
  // The files are handed to the input as a drop hands them to a page (a DataTransfer), not through
  // WebDriver's setFiles, which can leave Firefox's input empty with no change event at all
  // (microsoft/playwright#29683).
  upload: ({ selector, files }) =>
    page.evaluate(
      (selector, files) => {
        const transfer = new DataTransfer();
        for (const { name, type, base64 } of files) {
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          transfer.items.add(new File([bytes], name, { type }));
        }
        const input = document.querySelector(selector);
        input.files = transfer.files;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.dispatchEvent(new Event("change", { bubbles: true }));
      },
      selector,
      files,
    ),
  errors: () => errors.splice(0),
  console: () => consoleLines,
  close: () => browser.close(),
};

const write = (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`);
write({ ok: true, version: await browser.version() });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    write({ ok: true, value: await commands[command.op](command) });
  } catch (error) {
    write({ ok: false, error: String(error?.message ?? error) });
  }
  if (command.op === "close") process.exit(0); // puppeteer's connection would keep node alive
}
