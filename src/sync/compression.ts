/** gzip through the platform's CompressionStream (browsers and Node 20 alike). */

/**
 * Compressed input is fed to the decompressor in pieces this big, and the output is looked at
 * between pieces: one piece inflates to at most about 1,032 times its size (deflate's ceiling), so
 * a bound on the output is noticed within about 8 MiB of being passed, whatever the input holds.
 */
const INPUT_PIECE_BYTES = 8 * 1024;

/** gzip-compresses `bytes`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** {@link gunzip} stopped: the output passed the bound it was given. */
export class InflateLimitError extends RangeError {}

/**
 * Decompresses gzip `bytes` into at most `maxBytes` bytes: past that it stops (cancelling the
 * decompressor, so the rest is never inflated) and throws {@link InflateLimitError}. Memory stays
 * within about `maxBytes` plus one piece's inflation, however far the input would expand.
 * @throws InflateLimitError past `maxBytes`; the platform's TypeError for corrupt input.
 */
export async function gunzip(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  let offset = 0;
  // Pull-based: the next piece is read only when the decompressor wants more input, which it
  // does only once its output has been taken (the default TransformStream backpressure).
  const input = new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        const end = Math.min(bytes.length, offset + INPUT_PIECE_BYTES);
        controller.enqueue(bytes.slice(offset, end) as Uint8Array<ArrayBuffer>);
        offset = end;
      },
    },
    { highWaterMark: 0 },
  );
  const reader = input.pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new InflateLimitError(`gzip data inflates to more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
