/**
 * What one data set holds on its server, from one LIST of its prefix: shown to people as
 * `status().remote` (issue 12), never used to decide anything.
 */
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { listedOrNull } from './listing.js';

/** A data set's objects on its server. */
export interface DataSetUse {
  /** Objects under the data set's prefix: its chain, snapshots, blobs and metadata. */
  readonly objects: number;
  /** Their bytes, or `null` where the listing does not state sizes. */
  readonly bytes: number | null;
  /** Version index objects (`i/<id>`) of its chain: the versions the server keeps. */
  readonly versions: number;
}

/**
 * Lists `prefix` and counts. `null` when the server cannot list (no LIST in the backend, or a
 * server that refuses or does not understand the listing request): there is nothing to show then.
 * A failure to reach the server is thrown, like any read's.
 */
export async function dataSetUse(
  backend: AtomicRemoteBackend,
  prefix: string,
  versionIndexPrefix: string,
): Promise<DataSetUse | null> {
  const listObjects = backend.listObjects?.bind(backend);
  if (!listObjects) return null;
  const listed = await listedOrNull(() => listObjects(`${prefix}/`));
  if (!listed) return null;
  let bytes: number | null = 0;
  for (const object of listed) bytes = bytes === null || object.bytes === null ? null : bytes + object.bytes;
  const versions = listed.filter((object) => object.key.startsWith(versionIndexPrefix)).length;
  return { objects: listed.length, bytes, versions };
}
