"""How the tests and the benchmark start Chromium (Debian's, driven by Playwright)."""

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps dialling out of this closed network.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # measureUserAgentSpecificMemory answers at once instead of at the next garbage collection.
                 "--enable-blink-features=ForceEagerMeasureMemory"]
# WebGPU in headless Chromium here: a real but software adapter (SwiftShader), without shader-f16.
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]
