import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../contracts/errors.js';
import { Subscribable } from './subscribable.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Subscribable', () => {
  it('notifies every listener until it unsubscribes; unsubscribing twice is harmless', () => {
    const feed = new Subscribable<number>('test: a listener threw');
    const a: number[] = [];
    const b: number[] = [];
    const offA = feed.subscribe((n) => a.push(n));
    feed.subscribe((n) => b.push(n));
    feed.notify(1);
    offA();
    offA();
    feed.notify(2);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
    feed.clear();
    feed.notify(3);
    expect(b).toEqual([1, 2]);
    expect(feed.hasListeners()).toBe(false);
  });

  it('logs a throwing listener with its message and still notifies the others', () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const feed = new Subscribable<string>('test: a listener threw');
    const heard: string[] = [];
    const boom = new Error('boom');
    feed.subscribe(() => {
      throw boom;
    });
    feed.subscribe((value) => heard.push(value));
    expect(() => feed.notify('x')).not.toThrow();
    expect(heard).toEqual(['x']);
    expect(logged).toHaveBeenCalledWith('test: a listener threw', boom);
  });

  it('refuses a listener that is not a function when subscribing', () => {
    const feed = new Subscribable<number>('test: a listener threw');
    expect(() => feed.subscribe('nope' as never)).toThrow(InvalidArgumentError);
    expect(feed.hasListeners()).toBe(false);
  });

  it('tells a subclass of each subscription and each unsubscription', () => {
    const calls: string[] = [];
    class Counted extends Subscribable<number> {
      protected override onSubscribe(): void {
        calls.push(`on ${this.hasListeners()}`);
      }
      protected override onUnsubscribe(): void {
        calls.push(`off ${this.hasListeners()}`);
      }
    }
    const feed = new Counted('test: a listener threw');
    const off = feed.subscribe(() => undefined);
    off();
    off();
    expect(calls).toEqual(['on true', 'off false']);
  });
});
