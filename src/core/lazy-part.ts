/**
 * A part of the engine that only some configurations run (the S3 signer, credential renewal, …),
 * loaded with `import()` when first used, so that bundlers split it out of the worker every app
 * ships. Each part has one loader module that makes its {@link LazyPart}; code that needs the part
 * awaits `load()`.
 *
 * A service worker cannot `import()` (browsers refuse it there): its entry imports each part
 * statically and hands it over with `provide()`, after which `load()` never imports.
 */
import { CodeLoadError } from '../contracts/errors.js';

/** One part loaded on first use; see the module's description. */
export interface LazyPart<M> {
  /** What the part is, for people: `the S3 request signer (SigV4)`. */
  readonly name: string;
  /**
   * The part's module: imported on the first call, the same promise afterwards. A failed import is
   * not remembered: it rejects with {@link CodeLoadError} and the next call imports again.
   */
  load(): Promise<M>;
  /** Gives the module up front (a service worker's static import): `load()` then returns it. */
  provide(module: M): void;
}

/** The {@link LazyPart} `name`, whose module `importModule` imports (`() => import('./x.js')`). */
export function lazyPart<M>(name: string, importModule: () => Promise<M>): LazyPart<M> {
  let loading: Promise<M> | null = null;
  return {
    name,
    load() {
      if (loading) return loading;
      const attempt = importModule().catch((cause: unknown) => {
        // Forgotten at once: the next call tries again (the network may be back, a reload done).
        if (loading === attempt) loading = null;
        throw new CodeLoadError(name, { cause });
      });
      loading = attempt;
      return attempt;
    },
    provide(module) {
      loading = Promise.resolve(module);
    },
  };
}
