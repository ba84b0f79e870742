// The settings form, on the page's thread: filled from the build manifest, kept across visits in
// localStorage (an address's ?model=… and the like win over what was kept), read as remove() options.
const KEY = "bgremove-page-settings";
// The fields kept between visits (the background image is not: it is the user's file, not a setting).
const FIELDS = ["model", "device", "preset", "sensitivity", "softness", "output", "background", "colour", "format", "quality"];
// Changing these makes a result again from its kept mask; the others (model, device) apply to new images.
export const REAPPLY = new Set(["preset", "sensitivity", "softness", "output", "background", "colour", "backdrop", "format", "quality"]);

const $ = (id) => document.getElementById(id);
const megabytes = (bytes) => `${Math.round(bytes / 1e6)} MB`;

// What was kept from earlier visits, with the address's parameters over it.
export function initialSettings() {
  let kept = {};
  try {
    kept = JSON.parse(localStorage.getItem(KEY) ?? "{}") ?? {};
  } catch {
    kept = {}; // storage off (a private mode) or a damaged entry: start from the defaults
  }
  const params = new URLSearchParams(location.search);
  const fromAddress = Object.fromEntries(FIELDS.filter((f) => params.has(f)).map((f) => [f, params.get(f)]));
  return { kept, fromAddress, all: { ...kept, ...fromAddress } };
}

// Fills the selects from build.json, puts the initial values in, and reports every change as
// onChange(field). Returns a reader of the current remove() options.
export function setUpSettings(build, initial, { onChange, onProblem }) {
  for (const model of build.models) {
    const label = `${model.label} · ${megabytes(model.bytes)} · ${model.speed} · ${model.licence}`;
    $("model").add(new Option(label, model.id));
  }
  $("model").value = build.default_model;
  for (const format of build.formats) $("format").add(new Option(format.label, format.name));
  let backdrop = null;

  for (const field of FIELDS) {
    const value = initial.all[field];
    if (value === undefined || value === null) continue;
    const input = $(field);
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === value)) {
      if (field in initial.fromAddress) onProblem(`Unknown ${field} "${value}" in the address; using ${input.value}.`);
      continue;
    }
    input.value = value;
  }
  const showValues = () => {
    $("sensitivity-value").textContent = `${Math.round(Number($("sensitivity").value) * 100)}%`;
    $("softness-value").textContent = `${Math.round(Number($("softness").value) * 100)}%`;
    $("quality-value").textContent = `${Math.round(Number($("quality").value) * 100)}`;
    const kind = $("background").value;
    $("colour-row").hidden = kind !== "colour";
    $("image-row").hidden = kind !== "image";
    const format = build.formats.find((f) => f.name === $("format").value);
    $("format-note").textContent =
      format && !format.alpha && ["none", "image"].includes(kind) && !(kind === "image" && backdrop)
        ? `${format.label} has no transparency: the result goes on white, or on the colour you pick.`
        : "";
  };
  showValues();

  const save = () => {
    try {
      localStorage.setItem(KEY, JSON.stringify(Object.fromEntries(FIELDS.map((f) => [f, $(f).value]))));
    } catch {
      // storage off: the settings last as long as the page
    }
  };
  for (const field of FIELDS) {
    $(field).addEventListener("change", () => {
      showValues();
      save();
      onChange(field);
    });
  }
  for (const field of ["sensitivity", "softness", "quality"]) $(field).addEventListener("input", showValues);
  $("backdrop").addEventListener("change", (event) => {
    backdrop = event.target.files[0] ?? null;
    showValues();
    onChange("backdrop");
  });

  return {
    // The options of a remove() call as the form stands.
    options() {
      const kind = $("background").value;
      const background =
        kind === "colour" ? $("colour").value : kind === "blur" ? "blur" : kind === "image" ? (backdrop ?? undefined) : undefined;
      return {
        model: $("model").value,
        device: $("device").value,
        preset: $("preset").value,
        // Sensitivity is the threshold turned round: more of it keeps more of the subject.
        threshold: Math.round((1 - Number($("sensitivity").value)) * 100) / 100,
        softness: Number($("softness").value),
        output: $("output").value,
        format: $("format").value,
        quality: Number($("quality").value),
        background,
      };
    },
    format: () => build.formats.find((f) => f.name === $("format").value),
  };
}
