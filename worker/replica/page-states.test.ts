import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../src/testing/conformance/support.js';
import { assertPageState, PageStates, UNSEEN } from './page-states.js';

describe('PageStates', () => {
  it('is looked at until a tab tells, then visible / focused when any tab is; a closed tab leaves no trace', () => {
    const pages = new PageStates();
    expect(pages.device()).toEqual({ visible: true, focused: true });
    expect(pages.set('a', { visible: true, focused: false })).toBe(false); // was taken as looked at
    expect(pages.device()).toEqual({ visible: true, focused: false });
    expect(pages.set('b', { visible: false, focused: false })).toBe(false);
    expect(pages.set('b', { visible: true, focused: true })).toBe(true); // came into focus
    expect(pages.set('a', UNSEEN)).toBe(false);
    expect(pages.device()).toEqual({ visible: true, focused: true });
    expect(pages.set('b', UNSEEN)).toBe(false);
    expect(pages.device()).toEqual({ visible: false, focused: false });
    expect(pages.set('c', { visible: true, focused: false })).toBe(true);
  });

  it('refuses a malformed state with INVALID_ARGUMENT naming the field', async () => {
    for (const [state, field] of [
      [null, 'state'],
      [{ visible: true }, 'state.focused'],
      [{ visible: 'yes', focused: false }, 'state.visible'],
    ] as const) {
      const error = await rejectsWith((async () => assertPageState(state))(), 'INVALID_ARGUMENT');
      expect(error.message).toContain(field);
    }
  });
});
