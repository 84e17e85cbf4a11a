/**
 * The chain drawing of one replica: the chain on the server on top, as far as the replicas of this
 * tab have seen it (each engine keeps the ids of the versions it applied or pushed in its state,
 * read through `inspect()`; the page never reads the server), this replica's applied versions below
 * it, and its pending operations hanging off its base, so pulls (the local row catching up with
 * what another replica pushed), rebases (the pending branch moving to the new base) and pushes (the
 * branch becoming a version on top) can be seen.
 */
import type { ReplicaInspection } from '../src/contracts/replica.js';
import type { Uuid } from '../src/contracts/storage.js';

const NIL: Uuid = '00000000-0000-0000-0000-000000000000';
const SVG = 'http://www.w3.org/2000/svg';
/** How many versions the drawing shows (the newest ones). */
const WINDOW = 12;
const STEP = 30;

/** Version ids by height (index `height - 1`); a height nobody has named is `null`. */
export type ChainIds = readonly (Uuid | null)[];

/**
 * The version ids of the chain by height, as far as the engine's state names them: its newest ones
 * up to the base. Heights it does not name (before its recent window, or in a state written before
 * it kept them) are `null`.
 */
export function knownChain(local: ReplicaInspection): ChainIds {
  const { baseHeight, recentVersionIds = [] } = local.state;
  const ids = new Array<Uuid | null>(baseHeight).fill(null);
  recentVersionIds.forEach((id, i) => {
    const height = baseHeight - recentVersionIds.length + 1 + i;
    if (height >= 1) ids[height - 1] = id;
  });
  return ids;
}

/**
 * What `seen` and `known` together say about the chain. It is linear, so two views agree wherever
 * both name a height; where they disagree, `seen` came from another chain (an earlier demo run's
 * server under the same data set id) and `known`, read from an engine now, replaces it.
 */
export function mergeChains(seen: ChainIds, known: ChainIds): ChainIds {
  const disagree = known.some((id, i) => id !== null && seen[i] != null && seen[i] !== id);
  if (disagree) return known;
  const length = Math.max(seen.length, known.length);
  return Array.from({ length }, (_, i) => known[i] ?? seen[i] ?? null);
}

/**
 * The chain as every replica of this tab has seen it, kept in sessionStorage (shared by the tab's
 * frames, and fresh in a new tab): a replica that is offline, or has not pulled yet, draws the
 * versions the others pushed above its own row.
 */
export class SeenChain {
  /** The sessionStorage key; a `storage` event with it means another frame saw more. */
  readonly key: string;
  constructor(set: string) {
    this.key = `chainsync-demo:${set}:chain`;
  }
  /** Adds what `local`'s engine knows, and returns the whole. */
  see(local: ReplicaInspection): ChainIds {
    const stored = sessionStorage.getItem(this.key);
    const seen = mergeChains(stored ? (JSON.parse(stored) as ChainIds) : [], knownChain(local));
    const text = JSON.stringify(seen);
    if (text !== stored) sessionStorage.setItem(this.key, text);
    return seen;
  }
}

/** Who pushed which version, as each replica of this page reports its pushes (shared localStorage). */
export class Authors {
  readonly #key: string;
  constructor(set: string) {
    this.#key = `chainsync-demo:${set}:authors`;
  }
  all(): Record<string, string> {
    return JSON.parse(localStorage.getItem(this.#key) ?? '{}') as Record<string, string>;
  }
  record(versionId: Uuid, name: string): void {
    const all = this.all();
    if (all[versionId] === name) return;
    all[versionId] = name;
    localStorage.setItem(this.#key, JSON.stringify(all));
  }
}

const colors: Record<string, string> = { A: '#2f6fdf', B: '#d9731a', C: '#2a9d5b' };
const colorOf = (name: string | undefined) => (name ? (colors[name] ?? '#7a52c7') : '#9aa3ad');

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws the two rows into `container`. */
export function drawChain(
  container: HTMLElement,
  remoteIds: ChainIds,
  local: ReplicaInspection,
  authors: Record<string, string>,
  /** The lowest height the server keeps (`status().remote.retained.from`): those below are drawn gone. */
  keptFrom = 1,
): void {
  const base = local.state.baseHeight;
  const top = Math.max(remoteIds.length, base + (local.pending.length > 0 ? 1 : 0));
  const first = Math.max(1, top - WINDOW + 1);
  const x = (height: number) => 70 + (height - first) * STEP;
  const svg = el('svg', { width: x(top + 1) + 60, height: 120, role: 'img' });
  svg.append(
    el('text', { x: 4, y: 34, class: 'lane' }, 'remote'),
    el('text', { x: 4, y: 84, class: 'lane' }, 'local'),
  );
  for (let height = first; height <= remoteIds.length; height += 1) {
    const id = remoteIds[height - 1] ?? NIL;
    const author = id === NIL ? undefined : authors[id];
    const gone = height < keptFrom;
    const node = el('circle', {
      cx: x(height),
      cy: 30,
      r: 10,
      fill: gone ? 'none' : colorOf(author),
      class: gone ? 'compacted' : 'kept',
    });
    const compacted = gone ? ' (compacted away on the server: in its snapshot)' : '';
    node.append(
      el('title', {}, `version ${height} ${id}${author ? ` pushed by ${author}` : ''}${compacted}`),
    );
    svg.append(node, el('text', { x: x(height), y: 34, class: 'label' }, author ?? String(height)));
    if (height > first)
      svg.append(el('line', { x1: x(height - 1) + 10, y1: 30, x2: x(height) - 10, y2: 30, class: 'edge' }));
  }
  for (let height = first; height <= base; height += 1) {
    const id = remoteIds[height - 1];
    svg.append(
      el('circle', {
        cx: x(height),
        cy: 80,
        r: 8,
        fill: colorOf(id ? authors[id] : undefined),
        class: 'applied',
      }),
    );
    if (height > first)
      svg.append(el('line', { x1: x(height - 1) + 8, y1: 80, x2: x(height) - 8, y2: 80, class: 'edge' }));
  }
  if (local.pending.length > 0) {
    const from = base >= first ? x(base) : x(first) - STEP;
    const at = from + STEP;
    svg.append(
      el('line', { x1: from + 8, y1: 80, x2: at - 12, y2: 100, class: 'edge pending' }),
      el('rect', { x: at - 12, y: 90, width: 60, height: 20, rx: 4, class: 'pending' }),
      el('text', { x: at + 18, y: 104, class: 'label dark' }, `+${local.pending.length} ops`),
    );
  }
  if (local.state.inFlight) {
    const at = x(base + 1);
    svg.append(el('circle', { cx: at, cy: 30, r: 12, class: 'inflight' }));
  }
  svg.dataset.remoteHeight = String(remoteIds.length);
  svg.dataset.keptFrom = String(keptFrom);
  svg.dataset.localHeight = String(base);
  container.replaceChildren(svg);
}
