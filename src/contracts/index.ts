export * from './errors.js';
export * from './common.js';
export * from './cas-kv.js';
export * from './consensus.js';
export * from './storage.js';
export * from './blob-storage.js';
export * from './remote-backend.js';
