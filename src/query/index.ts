/**
 * `chainsync/query`: TanStack Query (`@tanstack/query-core`) on a chainsync replica. Queries read
 * the local replica (offline, no network wait) and a binding keeps exactly the affected ones fresh
 * from local writes, other tabs and sync; mutations write through the replica (its rebase replaces
 * hand-written rollbacks); TanStack's onlineManager and focusManager drive sync.
 * @module chainsync/query
 */
export type {
  QueryableReplica,
  QueryChangeEvent,
  QueryJsonValue,
  QueryObjectRef,
  QueryProperties,
  QueryReplicaChange,
  QueryStoredObject,
} from './replica.js';
export {
  defineCollection,
  type Collection,
  type CollectionData,
  type CollectionItem,
  type CollectionValidator,
  type JsonShape,
} from './collection.js';
export { chainsyncKeys, DEFAULT_SCOPE, KEY_ROOT, type QueryKind } from './keys.js';
export {
  replicaQueries,
  PATCH_META_KEY,
  type ChangePatcher,
  type ListSpec,
  type ReplicaQueries,
  type ReplicaQueriesOptions,
  type ReplicaQueryOptions,
} from './options.js';
export { bindQueryClient, type BindOptions, type ReplicaBinding } from './binding.js';
export {
  replicaMutations,
  type CreateVariables,
  type DeleteVariables,
  type ReplicaMutationOptions,
  type ReplicaMutations,
  type ReplicaMutationsOptions,
  type UpdateVariables,
} from './mutations.js';
export {
  driveSync,
  type FocusSource,
  type OnlineSource,
  type SyncDriver,
  type SyncDriverOptions,
} from './sync-driver.js';
export { shareChangesAcrossTabs, type TabChannel, type TabSharedReplica } from './tab-feed.js';
