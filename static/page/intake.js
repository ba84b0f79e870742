// How images reach the page, on the page's thread: the file pickers (files, a folder), a drop of files
// or folders, and paste. Every way ends in accept(files), in the order the files came.
const $ = (id) => document.getElementById(id);
// A folder's other files (notes, sidecars) are left out; a file given on its own is always tried, so
// that a wrong one gets its own card with the reason.
const IMAGE_NAME = /\.(png|jpe?g|jpe|jfif|webp|gif|bmp|tiff?|avif|heic|heif)$/i;
const isImage = (file) => file.type.startsWith("image/") || IMAGE_NAME.test(file.name);

export function setUpIntake(accept) {
  for (const id of ["files", "folder"]) {
    $(id).addEventListener("change", (event) => {
      const files = [...event.target.files];
      accept(id === "folder" ? files.filter(isImage).sort(byPath) : files);
      event.target.value = "";
    });
  }
  const dropzone = $("dropzone");
  // The dropzone is a label: Enter or Space opens the picker, as a click does.
  dropzone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("files").click();
    }
  });
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) dropzone.classList.remove("over");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("over");
    // The items' entries must be taken now: the drop's data is gone once this handler returns.
    const items = [...(event.dataTransfer?.items ?? [])].filter((item) => item.kind === "file");
    const entries = items.map((item) => ({ entry: item.webkitGetAsEntry?.(), file: item.getAsFile() }));
    dropped(entries).then(accept, () => accept([...event.dataTransfer.files]));
  });
  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length) accept(files);
  });
}

// The dropped files, each folder's images (recursively, by path) in its place.
async function dropped(entries) {
  const files = [];
  for (const { entry, file } of entries) {
    if (entry?.isDirectory) files.push(...(await folderImages(entry)).sort(byPath));
    else if (file) files.push(file);
  }
  return files;
}

async function folderImages(directory) {
  const found = [];
  const reader = directory.createReader();
  for (;;) {
    // readEntries answers in pieces (100 at a time in Chromium) until it answers none.
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    for (const entry of batch) {
      if (entry.isDirectory) {
        found.push(...(await folderImages(entry)));
      } else {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        if (isImage(file)) found.push(Object.assign(file, { path: entry.fullPath }));
      }
    }
  }
  return found;
}

const byPath = (a, b) => (a.path ?? a.webkitRelativePath ?? a.name).localeCompare(b.path ?? b.webkitRelativePath ?? b.name);
