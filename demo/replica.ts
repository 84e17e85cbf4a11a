/**
 * One replica of the demo, in its own iframe: its own IndexedDB database (named after the replica)
 * and its own engine worker. Query parameters: `name` (replica), `server` (the object server's URL,
 * default the reference server `npm run demo` started), `set` (the data set: its remote prefix and
 * client id), `secret` (optional encryption secret).
 */
import type { Operation, ReplicaStatus, SyncProgress } from '../src/contracts/replica.js';
import { openReplica, type ReplicaClient } from '../src/client/open-replica.js';
import { MutationObserver, QueryClient, QueryObserver } from '@tanstack/query-core';
import {
  bindQueryClient,
  defineCollection,
  replicaMutations,
  replicaQueries,
  type CollectionItem,
  type ReplicaMutations,
} from '../src/query/index.js';
import type { RemoteConfig } from '../src/remote/remote-config.js';
import { Authors, drawChain, SeenChain } from './chain.js';
import { startMswServer } from './msw-mode.js';
import { holdReplicaUntilUpdate, registerDemoServiceWorker } from './pwa-register.js';
import { requestPersistence } from '../src/client/persistence.js';
import { formatBytes } from '../src/core/storage-estimate.js';

declare const __CHAINSYNC_SERVER__: string;

const params = new URLSearchParams(location.search);
// Opened on its own (not in the main page's iframe), the replica page is the app: it registers.
registerDemoServiceWorker(params);
const name = params.get('name') ?? 'A';
const set = params.get('set') ?? '00000000-0000-4000-8000-000000000001';
const secret = params.get('secret') ?? undefined;
// A replica page opened on its own in msw mode runs its own in-browser server.
const serverUrl =
  params.get('server') === 'msw'
    ? await startMswServer(params)
    : (params.get('server') ?? __CHAINSYNC_SERVER__);
const offlineKey = `chainsync-demo:${set}:${name}:offline`;
// For e2e/live-sync.e2e.ts: `interval` (ms) replaces the 1 s interval (the test keeps the library's
// 30 s default, so that only live sync brings a change in time), `live=0` turns the watch off.
const liveTestSchedule = {
  ...(params.has('interval') ? { intervalMs: Number(params.get('interval')) } : {}),
  ...(params.get('live') === '0' ? { live: false } : {}),
};
/** The shared data: a task list, read and written through chainsync/query (TanStack Query). */
interface Task {
  title: string;
  done: boolean;
}
const tasks = defineCollection<Task>('tasks');

const $ = <T extends HTMLElement = HTMLElement>(id: string) =>
  document.querySelector(`[data-testid="${id}"]`) as T;

$('name').textContent = `Replica ${name}`;
document.title = `Replica ${name} — chainsync`;
const offlineBox = $<HTMLInputElement>('offline');
offlineBox.checked = localStorage.getItem(offlineKey) === '1';

let replica: ReplicaClient | null = null;
let mutations: ReplicaMutations | null = null;
const queryClient = new QueryClient();
let detach: (() => void)[] = [];
let opening: Promise<void> = Promise.resolve();

const remoteConfig: RemoteConfig = { kind: 'http', url: serverUrl, prefix: `demo-${set}` };
const authors = new Authors(set);
const seenChain = new SeenChain(set);

function renderStatus(status: ReplicaStatus): void {
  // The versions this replica's last sync added: drawn in its colour on every replica's chain.
  for (const id of status.lastPushed) authors.record(id, name);
  // Offline by the page's switch, or because the network is gone: the browser says so, or the last
  // sync got no answer (a RemoteError's `network`). The replica then keeps its remote, queues the
  // edits, and syncs by itself when the network is back.
  const offline = offlineBox.checked || !status.online || status.lastError?.fields?.network === true;
  document.body.classList.toggle('offline', offline);
  $('connection').textContent = offline ? 'offline' : 'online';
  $('pending').textContent = String(status.pending);
  $('sync-state').textContent = status.syncing
    ? 'syncing…'
    : status.lastSyncAt
      ? `synced ${new Date(status.lastSyncAt).toLocaleTimeString()}`
      : 'not synced yet';
  $('sync-state').dataset.leader = String(status.leader);
  const error = $('error');
  error.hidden = status.lastError === null;
  error.textContent = status.lastError ? `${status.lastError.code}: ${status.lastError.message}` : '';
  document.body.dataset.pending = String(status.pending);
  // The live indicator: the page's own offline switch runs the replica without a remote.
  const transport = offlineBox.checked ? 'offline' : status.transport;
  $('transport').textContent = transport === 'signal' ? 'live' : transport;
  $('transport').dataset.transport = transport;
  renderStorage(status);
  renderServer(status);
  void refreshChain();
}

/** The lowest version the server keeps, as the leader last listed it (1: nothing compacted, or not known). */
let keptFrom = 1;

/** "server: versions 12–20 kept (1–11 compacted) · 35 objects, 12.4 kB", from status().remote. */
function renderServer(status: ReplicaStatus): void {
  const el = $('server');
  const use = status.remote;
  if (!use) {
    el.textContent = 'server: not listed yet';
    return;
  }
  const { from, to } = use.retained;
  keptFrom = from;
  el.dataset.retainedFrom = String(from);
  el.dataset.retainedTo = String(to);
  el.dataset.objects = String(use.objects);
  const kept = from > to ? 'no versions kept' : `versions ${from}–${to} kept`;
  const compacted = from > 1 ? ` (1–${from - 1} compacted)` : '';
  const bytes = use.bytes === null ? '' : `, ${formatBytes(use.bytes)}`;
  el.textContent = `server: ${kept}${compacted} · ${use.objects} objects${bytes}`;
}

/**
 * The progress bar: the last event of the sync under way (or of the last one), `done` of `total`.
 * A phase's last event has done === total, so a finished phase stays drawn full.
 */
function renderProgress(progress: SyncProgress): void {
  const { phase, done, total, bytes } = progress;
  const box = $('progress');
  box.hidden = false;
  const bar = $<HTMLProgressElement>('progress-bar');
  if (total === null)
    bar.removeAttribute('value'); // indeterminate until the total is known
  else {
    bar.max = Math.max(1, total);
    bar.value = total === 0 ? 1 : done;
  }
  const percent = total === null ? null : total === 0 ? 100 : Math.floor((100 * done) / total);
  const unit = phase === 'push' ? 'operations' : phase === 'pull' ? 'versions' : 'snapshot';
  $('progress-label').textContent =
    `${phase}: ${done} of ${total ?? '?'} ${unit}${percent === null ? '' : ` (${percent}%)`}, ${(bytes / 1024).toFixed(1)} KiB`;
  box.dataset.phase = phase;
  box.dataset.done = String(done);
  box.dataset.total = total === null ? '' : String(total);
  box.dataset.percent = percent === null ? '' : String(percent);
  box.dataset.complete = String(total !== null && done === total);
}

/** One pending operation, short. */
function describe(op: Operation): string {
  if (op.type === 'update') return `update ${op.id}.${op.property} = ${JSON.stringify(op.value)}`;
  return `${op.type} ${op.id}`;
}

/** Adds one line under "Conflicts": a conflict this replica won or lost. */
function showConflict(outcome: 'won' | 'lost', op: Operation, text: string): void {
  const li = document.createElement('li');
  li.className = outcome;
  li.dataset.testid = `conflict-${outcome}`;
  li.dataset.id = op.id;
  if (op.type === 'update') li.dataset.property = op.property;
  li.textContent = `${outcome}: ${text}`;
  $('conflicts').append(li);
}

let drawing: Promise<void> = Promise.resolve();
/**
 * Re-reads the replica's place in the chain from its engine (`inspect()`: local, no request to the
 * server), then redraws.
 */
function refreshChain(): Promise<void> {
  drawing = drawing.then(async () => {
    const r = replica;
    if (!r) return;
    try {
      const inspection = await r.inspect();
      $('pending-list').replaceChildren(
        ...inspection.pending.map(({ op }) => {
          const li = Object.assign(document.createElement('li'), { textContent: describe(op) });
          // When the edit was made: a later update of the same property wins a conflict.
          if (op.type === 'update') li.dataset.timestamp = String(op.timestamp);
          return li;
        }),
      );
      drawChain($('chain'), seenChain.see(inspection), inspection, authors.all(), keptFrom);
    } catch {
      // The replica is being closed or reopened: the next refresh draws it.
    }
  });
  return drawing;
}

/** One task's row and the inputs renderTasks updates. */
interface TaskRow {
  readonly li: HTMLLIElement;
  readonly done: HTMLInputElement;
  readonly title: HTMLInputElement;
  /** The title as last drawn: a different value in the input is the user's, being typed. */
  drawnTitle: string;
}

/** The rows drawn, by task id: built once per id, then updated in place (see renderTasks). */
const taskRows = new Map<string, TaskRow>();

function taskRow(id: string): TaskRow {
  const li = document.createElement('li');
  li.dataset.testid = `task-${id}`;
  const done = document.createElement('input');
  done.type = 'checkbox';
  done.dataset.testid = 'done';
  done.addEventListener(
    'change',
    () => void write((m) => m.update(tasks), { id, set: { done: done.checked } }),
  );
  const title = document.createElement('input');
  title.type = 'text';
  title.dataset.testid = 'title';
  title.addEventListener(
    'change',
    () => void write((m) => m.update(tasks), { id, set: { title: title.value } }),
  );
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = '✕';
  remove.dataset.testid = 'delete';
  remove.addEventListener('click', () => void write((m) => m.delete(tasks), { id }));
  li.append(done, ' ', title, ' ', remove);
  return { li, done, title, drawnTitle: '' };
}

/**
 * Draws the tasks. Rows are kept per id and updated in place, and a title being typed in (focused
 * and changed) is left alone: a row rebuilt under the user (a sync landing, a refetch) would take
 * the caret and the half-typed text away.
 */
function renderTasks(objects: CollectionItem<Task>[]): void {
  const list = $('tasks');
  const ids = new Set(objects.map((o) => o.id));
  for (const id of taskRows.keys()) if (!ids.has(id)) taskRows.delete(id);
  const items = objects.map((object) => {
    let row = taskRows.get(object.id);
    if (!row) taskRows.set(object.id, (row = taskRow(object.id)));
    row.done.checked = object.data.done;
    const typing = row.title === document.activeElement && row.title.value !== row.drawnTitle;
    if (!typing) row.title.value = row.drawnTitle = object.data.title;
    return row.li;
  });
  // Only when the rows changed: moving them takes the focus out of the one being typed in.
  if (items.length !== list.children.length || items.some((li, i) => list.children[i] !== li)) {
    list.replaceChildren(...items);
  }
  // One line a machine can compare across replicas.
  list.dataset.state = JSON.stringify(objects.map((o) => [o.id, o.data]));
}

async function refreshStatus(): Promise<void> {
  if (replica) renderStatus(await replica.status());
}

/** Runs one TanStack mutation made by chainsync/query's factories. */
async function write<V>(
  make: (m: ReplicaMutations) => { mutationFn?: (variables: V) => Promise<unknown> },
  variables: V,
): Promise<void> {
  if (!mutations) return;
  await new MutationObserver(queryClient, make(mutations)).mutate(variables);
  await refreshStatus();
}

/** Offline means the replica runs without a remote: it works on its own and keeps its queue. */
async function open(): Promise<void> {
  await closeReplica();
  if (closedForUpdate) return;
  const online = !offlineBox.checked;
  const r = await openReplica({
    name: `demo-${set}-${name}`,
    clientId: set,
    ...(online ? { remote: remoteConfig } : {}),
    ...(secret ? { secret } : {}),
    // Offline edits are pushed by the service worker once the network is back, even after the
    // page was closed (demo/sw.ts; Chromium only: elsewhere the next open pushes them).
    backgroundSync: true,
    // Short intervals and backoff, so a person sees changes travel (an app would keep the defaults).
    schedule: { debounceMs: 50, intervalMs: 1000, backoffMaxMs: 2000, ...liveTestSchedule },
    // A snapshot every 10 versions, and the history more than 5 commits behind it deleted at once,
    // so a person sees compaction within minutes (an app keeps the defaults: 1,000 commits, 30 days).
    // `compaction=off`: the library's defaults (a snapshot per 100 versions, nothing deleted).
    ...(params.get('compaction') === 'off'
      ? {}
      : { snapshotPolicy: { versions: 10, days: 14 }, compaction: { keepCommits: 5, keepDays: 0 } }),
  });
  replica = r;
  queryClient.clear();
  const binding = bindQueryClient(queryClient, r);
  mutations = replicaMutations(r, { binding });
  const observer = new QueryObserver(queryClient, replicaQueries(r).collection(tasks));
  detach.push(
    () => binding.dispose(),
    observer.subscribe((result) => {
      if (result.data) renderTasks(result.data);
    }),
    r.onStatus(renderStatus),
    r.onProgress(renderProgress),
    r.onClosed((reason) => {
      if (reason === 'deleted') showDeleted();
    }),
    r.subscribe((change) => {
      if (change.source === 'sync') {
        // Only the replica that rebases learns how a conflict went: the other one had already
        // pushed its edit when this one pulled it.
        for (const op of change.overridden)
          showConflict(
            'won',
            op,
            `${describe(op)} (another replica's edit) was overridden by this replica's edit`,
          );
        for (const op of change.dropped)
          showConflict(
            'lost',
            op,
            `${describe(op)} (this replica's edit) was discarded: another replica's edit won`,
          );
      }
      void refreshStatus();
    }),
  );
  await refreshStatus();
  document.body.dataset.ready = 'true';
}

/** Closes this page's replica, if open; its subscriptions first. */
async function closeReplica(): Promise<void> {
  for (const off of detach) off();
  detach = [];
  mutations = null;
  await replica?.close();
  replica = null;
}

/** An update was accepted (in any tab): the replica stays closed until the page reloads onto it. */
let closedForUpdate = false;

function reopen(): void {
  // Not ready from the moment a reopen is asked for: whoever waits for "ready" (a person, the e2e
  // tests) must wait for the reopened replica, not see the one about to close.
  document.body.dataset.ready = 'false';
  opening = opening.then(open).catch((error: unknown) => {
    const el = $('error');
    el.hidden = false;
    el.textContent = String(error);
  });
}

offlineBox.addEventListener('change', () => {
  localStorage.setItem(offlineKey, offlineBox.checked ? '1' : '0');
  reopen();
});
$('sync-now').addEventListener('click', () => {
  replica?.sync().then(refreshStatus, (error: unknown) => {
    // Offline, the replica has no remote: say so instead of failing silently.
    const el = $('error');
    el.hidden = false;
    el.textContent = error instanceof Error ? error.message : String(error);
  });
});
/** This tab's replica was closed because its local data was deleted (here or in another tab). */
function showDeleted(): void {
  replica = null;
  mutations = null;
  const el = $('closed');
  el.hidden = false;
  el.textContent = 'The local data of this replica was deleted; reload the page to start over.';
  document.body.dataset.closed = 'deleted';
}
// Logging out on a shared computer: every tab of this replica closes, its IndexedDB data is removed.
// Refused (and said so) while edits have not been synced.
$('delete-local').addEventListener('click', () => {
  replica?.deleteLocalData().then(showDeleted, (error: unknown) => {
    const el = $('error');
    el.hidden = false;
    el.textContent = error instanceof Error ? error.message : String(error);
  });
});
$<HTMLFormElement>('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('new-title');
  const title = input.value.trim();
  if (!title) return;
  input.value = '';
  // Time first, so tasks list in the order they were added.
  const id = `t-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 4)}`;
  void write((m) => m.create(tasks), { id, data: { title, done: false } });
});
// An update accepted in any tab closes this replica before the new version takes over (see
// demo/pwa-register.ts); the page then reloads onto it. Opened only once counted, so that an update
// accepted meanwhile waits for this page too.
opening = holdReplicaUntilUpdate(() => {
  closedForUpdate = true;
  document.body.dataset.ready = 'false';
  $('connection').textContent = 'updating…';
  opening = opening.then(closeReplica);
  return opening;
});
reopen();
setInterval(() => void refreshChain(), 1000);
// Another replica of this tab saw more of the chain: draw it above this one's row at once.
addEventListener('storage', (event) => {
  if (event.key === seenChain.key) void refreshChain();
});

// ---- Storage that stays (issue 16 item 4) ----------------------------------------------------

/**
 * Whether the browser keeps this origin's data under storage pressure: `null` until asked, then
 * the answer of requestPersistence() (`false` also where the Storage API has no persist()).
 */
let persistent: boolean | null = null;
let persistenceAsked = false;

/**
 * Persistent storage is asked for once, when this replica first holds data worth keeping: an edit
 * of the user's waiting to be pushed (pending > 0), or tasks on the page (a sync brought them, or
 * edits made earlier). Not at page load: Firefox shows the user a prompt, and one shown before
 * they did anything reads as noise and tends to be refused; Chromium decides by the site's
 * engagement, which grows with use. An empty replica loses nothing if evicted: it pulls again.
 */
function askForPersistenceOnceWorthKeeping(status: ReplicaStatus): void {
  if (persistenceAsked || (status.pending === 0 && taskRows.size === 0)) return;
  persistenceAsked = true;
  void requestPersistence().then(
    (granted) => {
      persistent = granted;
      renderStorage(status);
    },
    () => undefined, // refused to answer: shown as the engine last read it
  );
}

/** "storage: persistent · 1.2 MB of 300 MB", from the status and the answer to the request. */
function renderStorage(status: ReplicaStatus): void {
  askForPersistenceOnceWorthKeeping(status);
  const use = status.storage;
  const kept = persistent ?? use?.persisted ?? null;
  const el = $('storage');
  el.dataset.persisted = kept === null ? 'unknown' : String(kept);
  el.dataset.asked = String(persistenceAsked); // whether requestPersistence() was called (e2e)
  const mode = kept === null ? 'not asked yet' : kept ? 'persistent' : 'best-effort (may be evicted)';
  el.textContent = `storage: ${mode} · ${use ? `${formatBytes(use.usage)} of ${formatBytes(use.quota)}` : 'use unknown (no Storage API)'}`;
  el.dataset.usage = use ? String(use.usage) : '';
  el.dataset.quota = use ? String(use.quota) : '';
}
