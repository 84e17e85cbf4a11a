import { lazyPart } from '../../core/lazy-part.js';

/** Renewal of a bearer token from the app's function: loaded when such a remote first connects. */
export const bearerFetchPart = lazyPart('the bearer token renewal', () => import('./bearer-fetch.js'));
