// The benchmark's view of @imgly/background-removal 1.4.5: the same window.bench calls as
// tests/bench/ours.html. Its stages are timed from outside, without changing what it runs:
// its own progress events, onnxruntime-web's InferenceSession.run and the ImageData it encodes.
import { removeBackground } from "@imgly/background-removal";
import * as ort from "onnxruntime-web";

// The files of @imgly/background-removal-data 1.4.5, served beside this page by the benchmark.
const publicPath = new URL("./data/", location.href).href;
const MODELS = { "isnet-medium": "medium", "isnet-small": "small" };

let marks = {};
const mark = (name) => (marks[name] = performance.now());

const run = ort.InferenceSession.prototype.run;
ort.InferenceSession.prototype.run = async function (...args) {
  mark("inferenceStart");
  try {
    return await run.apply(this, args);
  } finally {
    mark("inferenceEnd");
  }
};

globalThis.ImageData = class extends ImageData {
  constructor(...args) {
    super(...args);
    mark("encodeStart");
  }
};

function progress(key, done) {
  if (key === "compute:inference") mark(done === 0 ? "computeStart" : "computeEnd");
}

window.bench = {
  name: "imgly",
  async run(imageUrl, { model = "isnet-medium" } = {}) {
    const input = await (await fetch(imageUrl)).blob();
    marks = {};
    const start = performance.now();
    const blob = await removeBackground(input, { publicPath, model: MODELS[model], progress });
    const end = performance.now();
    const at = (name) => marks[name] - start;
    return {
      ms: end - start,
      bytes: blob.size,
      stages: {
        decode: at("computeStart"),
        preprocess: marks.inferenceStart - marks.computeStart,
        inference: marks.inferenceEnd - marks.inferenceStart,
        postprocess: marks.encodeStart - marks.inferenceEnd,
        encode: end - marks.encodeStart,
        other: 0,
      },
    };
  },
};
