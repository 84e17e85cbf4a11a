import { DeterminateRemoteError } from '../contracts/errors.js';

/**
 * The result of a listing request, or `null` when the server refuses or does not understand it
 * (a {@link DeterminateRemoteError}: an HTTP server that is not the reference server may answer the
 * listing request with an error status). For what only reports or tidies (the data set's use, blob
 * collection), that is the same as a remote without LIST. A failure to reach the server is thrown,
 * like any read's.
 */
export async function listedOrNull<T>(list: () => Promise<T>): Promise<T | null> {
  try {
    return await list();
  } catch (error) {
    if (error instanceof DeterminateRemoteError) return null;
    throw error;
  }
}
