// Runs in the engine worker. What WebGPU offers here, and whether the engine will use it: "auto"
// passes over a software adapter (SwiftShader and the like), which runs these models far slower
// than wasm; "webgpu" takes it.
export async function probeWebGpu(device) {
  if (device === "wasm") return { use: false, reason: "the remover was started with device wasm" };
  if (!navigator.gpu) return { use: false, reason: "this browser has no WebGPU" };
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return { use: false, reason: "WebGPU found no usable GPU adapter" };
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown";
  const software = Boolean(info.isFallbackAdapter) || /swiftshader|llvmpipe|software/i.test(name);
  const gpu = { adapter: name, software, features: [...adapter.features] };
  if (software && device === "auto") {
    return { ...gpu, use: false, reason: `the only WebGPU adapter is a software renderer (${name}), slower than wasm` };
  }
  return { ...gpu, use: true, reason: null };
}
