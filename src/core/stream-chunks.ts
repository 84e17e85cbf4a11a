/**
 * The chunks of a `ReadableStream`, as an async iterator built on `getReader()`. Streams are async
 * iterable by the Streams standard, but WebKit (Safari) does not implement it: `for await` over a
 * stream fails there with a `TypeError`. This works in every engine.
 */
export async function* streamChunks<T>(stream: ReadableStream<T>): AsyncGenerator<T, void, undefined> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Left early (a `break`, a throw in the loop): the rest is not wanted, as with `for await`
    // over a stream. Cancelling a finished stream does nothing; an errored one has thrown already.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
