import { expect, it } from 'vitest';
import { requestPersistence } from './persistence.js';

it('requestPersistence answers with the browser’s persisted() state after asking', async () => {
  const granted = await requestPersistence();
  expect(typeof granted).toBe('boolean');
  expect(granted).toBe(await navigator.storage.persisted());
});
