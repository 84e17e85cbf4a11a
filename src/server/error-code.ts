/** Node's system errors carry a `code` (`ENOENT`, `EEXIST`, …). */
export function isErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
