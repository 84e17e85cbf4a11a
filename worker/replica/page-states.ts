import { InvalidArgumentError } from '../../src/contracts/errors.js';
import type { PageState } from '../../src/core/remote-watcher.js';

/** Checks a {@link PageState} from the main thread; throws INVALID_ARGUMENT naming the field. */
export function assertPageState(state: unknown): asserts state is PageState {
  if (typeof state !== 'object' || state === null) {
    throw new InvalidArgumentError('state', 'expected { visible: boolean, focused: boolean }.');
  }
  const s = state as Record<string, unknown>;
  for (const name of ['visible', 'focused']) {
    if (typeof s[name] !== 'boolean')
      throw new InvalidArgumentError(`state.${name}`, 'expected true or false.');
  }
}

/** Nobody looks: a closed tab's last word. */
export const UNSEEN: PageState = Object.freeze({ visible: false, focused: false });

/**
 * Whether anyone looks at the data set on this device: its tabs' page states (each tab's own, and
 * the others' as they broadcast them), put together. The device is visible when any tab is, focused
 * when any tab is: the leader's watcher polls for the liveliest tab, whichever leads.
 */
export class PageStates {
  readonly #tabs = new Map<string, PageState>();
  #reported = false;

  /** Records `tab`'s state; returns true when the device became looked at (visible or focused). */
  set(tab: string, state: PageState): boolean {
    const before = this.device();
    this.#reported = true;
    if (state.visible || state.focused)
      this.#tabs.set(tab, { visible: state.visible, focused: state.focused });
    else this.#tabs.delete(tab); // a hidden tab counts as nothing: a closed one leaves no trace
    const after = this.device();
    return (!before.visible && after.visible) || (!before.focused && after.focused);
  }

  /**
   * The device's state: visible if any tab is, focused if any tab is. Until a tab tells, looked at
   * (a host without a page, in a test, is watched as closely as a focused one).
   */
  device(): PageState {
    if (!this.#reported) return { visible: true, focused: true };
    const states = [...this.#tabs.values()];
    return { visible: states.some((s) => s.visible), focused: states.some((s) => s.focused) };
  }
}
