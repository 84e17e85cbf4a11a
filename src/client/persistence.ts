/**
 * Asks the browser to keep this origin's storage (IndexedDB included) under storage pressure,
 * rather than evicting it as best-effort data. Call it from the main thread, ideally after a user
 * gesture: browsers may prompt or decide from engagement. Resolves to whether storage is persistent;
 * `false` where the Storage API is missing.
 */
export async function requestPersistence(): Promise<boolean> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.persist) return false;
  if (await storage.persisted()) return true;
  return storage.persist();
}
