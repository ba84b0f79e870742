// PNG from straight RGBA, in the engine worker. A canvas keeps colour premultiplied by alpha in 8 bits,
// which loses the colour of faint edge pixels (alpha 1-7: off by up to 250 levels); a PNG holds colour as
// it is. Python filters the rows (py/bgremove/png_rows.py); the browser's own zlib (CompressionStream)
// deflates them. Measured on a 12-megapixel cut-out in Chromium here: 1.4 s and 6.1 MB, against the
// canvas's 0.23 s and 8.4 MB. Unfiltered rows deflate faster but to 12 MB; Pillow's zlib in WebAssembly
// took 3.6 s (level 6), or 1.5 s for 8.0 MB (level 1), measured while other tests ran beside it.
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Bytes handed to the compressor at a time.
const CHUNK_BYTES = 1 << 20;

// scanlines: a Uint8Array of height rows, each its filter byte and width x 4 bytes (py/bgremove/png_rows.py).
export async function encodePng(scanlines, width, height) {
  let offset = 0;
  const rows = new ReadableStream({
    pull(controller) {
      if (offset >= scanlines.length) return controller.close();
      controller.enqueue(scanlines.subarray(offset, offset + CHUNK_BYTES));
      offset += CHUNK_BYTES;
    },
  });
  const data = new Uint8Array(await new Response(rows.pipeThrough(new CompressionStream("deflate"))).arrayBuffer());
  const header = new DataView(new ArrayBuffer(13));
  header.setUint32(0, width);
  header.setUint32(4, height);
  header.setUint8(8, 8); // bits per channel
  header.setUint8(9, 6); // colour type: RGBA
  return new Blob(
    [new Uint8Array(SIGNATURE), ...chunk("IHDR", new Uint8Array(header.buffer)), ...chunk("IDAT", data), ...chunk("IEND", new Uint8Array(0))],
    { type: "image/png" },
  );
}

// A PNG chunk's parts: length, type and data, CRC-32 of type and data.
function chunk(type, data) {
  const name = new TextEncoder().encode(type);
  const length = new DataView(new ArrayBuffer(4));
  length.setUint32(0, data.length);
  const crc = new DataView(new ArrayBuffer(4));
  crc.setUint32(0, crc32(data, crc32(name)) ^ 0xffffffff);
  return [new Uint8Array(length.buffer), name, data, new Uint8Array(crc.buffer)];
}

let table = null;

// The running CRC-32 (unfinished: start from 0xffffffff, end with ^ 0xffffffff), as PNG defines it.
function crc32(bytes, running = 0xffffffff) {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = running;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}
