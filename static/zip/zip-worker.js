// The page's zip writer, in a worker of its own, so that packing a batch of results never blocks the
// page: client-zip (npm, vendored by the build) stores the files as they are (images are compressed
// already) and computes their checksums here.
import { serve } from "../shared/rpc.js";
import { downloadZip } from "../vendor/client-zip/index.js";

serve({
  // files: [{name, blob}] -> {blob}: one zip archive of them, in order.
  async zip({ files }) {
    const entries = files.map(({ name, blob }) => ({ name, input: blob, lastModified: new Date() }));
    return { blob: await downloadZip(entries).blob() };
  },
});
