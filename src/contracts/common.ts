/** Stops a subscription. Calling it more than once is harmless. */
export type Unsubscribe = () => void;

/** Longest key, in UTF-8 bytes, that every implementation accepts (S3's limit). */
export const MAX_KEY_BYTES = 1024;
