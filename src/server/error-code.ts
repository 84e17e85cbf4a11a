import { open, type FileHandle } from 'node:fs/promises';

/** Node's system errors carry a `code` (`ENOENT`, `EEXIST`, …). */
export function isErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/**
 * Opens `path` with `flags`, or returns `null` when opening fails with the system error `absent`
 * (`ENOENT` for a file that is not there, `EEXIST` for one that `wx` must not overwrite).
 */
export async function openUnless(path: string, flags: string, absent: string): Promise<FileHandle | null> {
  try {
    return await open(path, flags);
  } catch (error) {
    if (isErrorCode(error, absent)) return null;
    throw error;
  }
}
