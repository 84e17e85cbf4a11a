/** What each call of `Promise.allSettled` came to: `null` if it succeeded, else its error's `code`. */
export function outcomeCodes(settled: readonly PromiseSettledResult<unknown>[]): (string | null)[] {
  return settled.map((r) => (r.status === 'rejected' ? String((r.reason as { code?: unknown }).code) : null));
}
