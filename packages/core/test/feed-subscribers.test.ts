import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError, createLocalChangeFeed, StoreClosedError } from '../src/index.js';
import { FeedSubscribers } from '../src/store.js';

describe('FeedSubscribers: no subscriber can make a feed lose a message', () => {
  it('a throwing listener is reported, and every other listener still hears the change', () => {
    const reported: unknown[] = [];
    const subscribers = new FeedSubscribers((error) => reported.push(error));
    const heard: string[] = [];
    const failure = new Error('listener broke');
    subscribers.add((ids) => heard.push(`first ${ids.join()}`));
    subscribers.add(() => {
      throw failure;
    });
    subscribers.add((ids) => heard.push(`third ${ids.join()}`));
    expect(() => subscribers.deliver(['k1'])).not.toThrow();
    expect(heard).toEqual(['first k1', 'third k1']);
    expect(reported).toEqual([failure]);
  });

  it('a throwing onReset is reported, and every other subscriber still resets', () => {
    const reported: unknown[] = [];
    const subscribers = new FeedSubscribers((error) => reported.push(error));
    const resets: string[] = [];
    subscribers.add(
      () => {},
      () => {
        throw new Error('reset broke');
      },
    );
    subscribers.add(
      () => {},
      () => resets.push('second'),
    );
    subscribers.add(() => {}); // no onReset at all
    subscribers.reset();
    expect(resets).toEqual(['second']);
    expect(reported).toHaveLength(1);
  });

  it('a subscriber added while the feed is cut off is told at once; after reset, not', () => {
    const subscribers = new FeedSubscribers();
    const told: string[] = [];
    subscribers.interrupt();
    subscribers.add(
      () => {},
      () => told.push('reset A'),
      () => told.push('interrupt A'),
    );
    expect(told).toEqual(['interrupt A']);
    subscribers.reset();
    subscribers.add(
      () => {},
      () => told.push('reset B'),
      () => told.push('interrupt B'),
    );
    expect(told).toEqual(['interrupt A', 'reset A']);
  });

  it('refuses an onInterrupt that is not a function', () => {
    const subscribers = new FeedSubscribers();
    expect(() => subscribers.add(() => {}, undefined, 'later' as never)).toThrow(
      ConfigurationError,
    );
    expect(subscribers.size).toBe(0);
  });

  it('a reporter that throws stops nothing either', () => {
    const subscribers = new FeedSubscribers(() => {
      throw new Error('reporter broke');
    });
    const heard = vi.fn();
    subscribers.add(() => {
      throw new Error('listener broke');
    });
    subscribers.add(heard);
    subscribers.deliver(['k1']);
    expect(heard).toHaveBeenCalledWith(['k1']);
  });

  it('with no reporter, a throwing listener is a process warning, never silent', async () => {
    const subscribers = new FeedSubscribers();
    subscribers.add(() => {
      throw new Error('listener broke');
    });
    const warned = once(process, 'warning');
    subscribers.deliver(['k1']);
    const [warning] = (await warned) as [Error];
    expect(warning.name).toBe('Error');
    expect(warning.message).toBe('listener broke');
  });

  it('unsubscribing removes one subscriber; size and clear count them', () => {
    const subscribers = new FeedSubscribers(() => {});
    const heard = vi.fn();
    const stop = subscribers.add(heard);
    subscribers.add(() => {});
    expect(subscribers.size).toBe(2);
    stop();
    stop();
    expect(subscribers.size).toBe(1);
    subscribers.deliver(['k1']);
    expect(heard).not.toHaveBeenCalled();
    subscribers.clear();
    expect(subscribers.size).toBe(0);
  });

  it('refuses a listener or onReset that is not a function', () => {
    const subscribers = new FeedSubscribers(() => {});
    expect(() => subscribers.add(5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_CONFIG' }),
    );
    expect(() => subscribers.add(() => {}, 5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_CONFIG' }),
    );
  });
});

describe('createLocalChangeFeed', () => {
  it('tells every subscriber before publish returns, a throwing one reported to onError', async () => {
    const reported: unknown[] = [];
    const feed = createLocalChangeFeed({ onError: (error) => reported.push(error) });
    const heard: (readonly string[])[] = [];
    feed.subscribe(() => {
      throw new Error('broke');
    });
    feed.subscribe((ids) => heard.push(ids));
    const published = feed.publish(['k1', 'k2']);
    expect(heard).toEqual([['k1', 'k2']]);
    await expect(published).resolves.toBeUndefined();
    expect(reported).toHaveLength(1);
  });

  it('after close(), publish rejects and subscribe throws with StoreClosedError', async () => {
    const feed = createLocalChangeFeed();
    const heard = vi.fn();
    feed.subscribe(heard);
    feed.close();
    await expect(feed.publish(['k1'])).rejects.toBeInstanceOf(StoreClosedError);
    await expect(feed.publish(['k1'])).rejects.toMatchObject({
      code: 'ERR_ORKESTA_AUTH_STORE_CLOSED',
    });
    expect(() => feed.subscribe(() => {})).toThrow(StoreClosedError);
    expect(heard).not.toHaveBeenCalled();
  });

  it('refuses an onError that is not a function', () => {
    expect(() => createLocalChangeFeed({ onError: 5 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_ORKESTA_AUTH_CONFIG' }),
    );
  });
});
