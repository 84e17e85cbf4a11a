import { describe, expect, it } from 'vitest';
import { MainThreadEvents } from './main-thread-events.js';

/** A listener whose deliveries the test completes by hand (as the main thread would, later). */
function slowListener() {
  const heard: string[] = [];
  const pending: Array<() => void> = [];
  const listener = (event: string) =>
    new Promise<void>((resolve) => {
      pending.push(() => {
        heard.push(event);
        resolve();
      });
    });
  return { heard, listener, deliverAll: () => pending.splice(0).forEach((deliver) => deliver()) };
}

describe('MainThreadEvents', () => {
  it('answers a call only once the events sent before it answered have been delivered', async () => {
    const { heard, listener, deliverAll } = slowListener();
    const events = new MainThreadEvents(listener);
    let answered = false;
    const answer = events
      .after(
        (async () => {
          events.send('changed');
          return 42;
        })(),
      )
      .then((value) => {
        answered = true;
        return value;
      });
    // The call itself is done; its event has not arrived yet.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(answered).toBe(false);
    deliverAll();
    expect(await answer).toBe(42);
    expect(heard).toEqual(['changed']);
  });

  it('does not wait for a delivery that failed (the main thread went away)', async () => {
    const events = new MainThreadEvents(() => Promise.reject(new Error('gone')));
    events.send('changed');
    await expect(events.after(Promise.resolve('done'))).resolves.toBe('done');
  });

  it('passes a failed call on without waiting, and sends nothing once detached', async () => {
    const { heard, listener, deliverAll } = slowListener();
    const events = new MainThreadEvents(listener);
    events.send('before');
    await expect(events.after(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    events.detach();
    events.send('after');
    deliverAll();
    await events.delivered();
    expect(heard).toEqual(['before']);
  });
});
