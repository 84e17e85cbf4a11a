import { UnsupportedBrowserError } from '../contracts/errors.js';

/** A platform feature the engine needs, how to find it, and what it is for. */
interface Feature {
  /** As a page reaches it (the error's `feature`). */
  readonly name: string;
  readonly present: (scope: BrowserScope) => boolean;
  readonly purpose: string;
  /** Only in a secure context (https, or http://localhost). */
  readonly secureOnly: boolean;
}

/** The parts of a page's global scope {@link assertBrowserSupport} looks at. */
export interface BrowserScope {
  readonly Worker?: unknown;
  readonly indexedDB?: unknown;
  readonly BroadcastChannel?: unknown;
  readonly isSecureContext?: boolean;
  readonly navigator?: { readonly locks?: unknown };
  readonly crypto?: { readonly subtle?: unknown };
}

const FEATURES: readonly Feature[] = [
  {
    name: 'Worker',
    present: (s) => typeof s.Worker === 'function',
    purpose: 'the engine runs in a Web Worker',
    secureOnly: false,
  },
  {
    name: 'indexedDB',
    present: (s) => s.indexedDB != null,
    purpose: 'the data lives in IndexedDB',
    secureOnly: false,
  },
  {
    name: 'navigator.locks',
    present: (s) => s.navigator?.locks != null,
    purpose: 'Web Locks keep the tabs of one store from writing over each other and elect the tab that syncs',
    secureOnly: true,
  },
  {
    name: 'BroadcastChannel',
    present: (s) => typeof s.BroadcastChannel === 'function',
    purpose: 'tabs of one store tell each other of their changes',
    secureOnly: false,
  },
  {
    name: 'crypto.subtle',
    present: (s) => s.crypto?.subtle != null,
    purpose: 'blobs are named by their SHA-256 and encrypted data sets use AES-GCM',
    secureOnly: true,
  },
];

/**
 * Fails with {@link UnsupportedBrowserError}, naming the first missing feature, when `scope` (the
 * page) lacks one the engine needs. A page that is not a secure context lacks Web Locks and
 * WebCrypto in every browser, so the message says to serve it over https (or from localhost)
 * rather than to change browsers.
 */
export function assertBrowserSupport(scope: BrowserScope = globalThis as BrowserScope): void {
  const missing = FEATURES.find((feature) => !feature.present(scope));
  if (!missing) return;
  const insecure = missing.secureOnly && scope.isSecureContext === false;
  const what = insecure
    ? 'this page is not a secure context: serve it over https, or from http://localhost while developing.'
    : 'use a current browser (Chrome or Edge 69+, Firefox 96+, Safari 15.4+).';
  throw new UnsupportedBrowserError(
    missing.name,
    `chainsync needs ${missing.name}, which this page lacks (${missing.purpose}); ${what}`,
  );
}
