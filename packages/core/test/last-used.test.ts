import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LastUsedRecorder } from '../src/last-used.js';
import { deferred, T0 } from './helpers.js';

type Batch = ReadonlyMap<string, Date>;

function recorder(intervalMs = 1000, write?: (batch: Batch) => Promise<void>) {
  const batches: Map<string, Date>[] = [];
  const errors: unknown[] = [];
  const writer = vi.fn(
    write ??
      (async (batch: Batch) => {
        batches.push(new Map(batch));
      }),
  );
  const r = new LastUsedRecorder(writer, intervalMs, (error) => errors.push(error));
  return { r, writer, batches, errors };
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('LastUsedRecorder', () => {
  it('writes nothing until the interval has passed, then one batch of the latest uses', async () => {
    const { r, writer, batches } = recorder(1000);
    r.touch('a', T0);
    r.touch('b', T0 + 1);
    r.touch('a', T0 + 2);
    for (let i = 0; i < 500; i++) r.touch('c', T0 + 3 + i);
    await vi.advanceTimersByTimeAsync(999);
    expect(writer).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(writer).toHaveBeenCalledTimes(1);
    expect(batches[0]).toEqual(
      new Map([
        ['a', new Date(T0 + 2)],
        ['b', new Date(T0 + 1)],
        ['c', new Date(T0 + 502)],
      ]),
    );
  });

  it('arms no timer while idle, and one per interval while in use', async () => {
    const { r, writer, batches } = recorder(1000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writer).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);

    r.touch('a', T0);
    expect(vi.getTimerCount()).toBe(1);
    r.touch('a', T0 + 1);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(vi.getTimerCount()).toBe(0);

    await vi.advanceTimersByTimeAsync(5000);
    expect(writer).toHaveBeenCalledTimes(1);

    r.touch('b', T0 + 6000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writer).toHaveBeenCalledTimes(2);
    expect(batches[1]).toEqual(new Map([['b', new Date(T0 + 6000)]]));
  });

  it('flush() writes at once and disarms the timer; an empty flush writes nothing', async () => {
    const { r, writer, batches } = recorder(1000);
    await r.flush();
    expect(writer).not.toHaveBeenCalled();
    r.touch('a', T0);
    await r.flush();
    expect(writer).toHaveBeenCalledTimes(1);
    expect(batches[0]).toEqual(new Map([['a', new Date(T0)]]));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(writer).toHaveBeenCalledTimes(1);
  });

  it('reports a failed write and retries it on the next flush', async () => {
    const failure = new Error('database down');
    let fail = true;
    const batches: Map<string, Date>[] = [];
    const { r, writer, errors } = recorder(1000, async (batch) => {
      if (fail) throw failure;
      batches.push(new Map(batch));
    });
    r.touch('a', T0);
    r.touch('b', T0 + 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writer).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([failure]);

    // A newer use of "a" arrives before the retry: the newer time wins, "b" is kept.
    r.touch('a', T0 + 50);
    fail = false;
    await r.flush();
    expect(writer).toHaveBeenCalledTimes(2);
    expect(batches).toEqual([
      new Map([
        ['a', new Date(T0 + 50)],
        ['b', new Date(T0 + 1)],
      ]),
    ]);
    expect(errors).toHaveLength(1);
  });

  it('retries a failed write by itself at the next interval', async () => {
    let fail = true;
    const batches: Map<string, Date>[] = [];
    const { r, writer, errors } = recorder(1000, async (batch) => {
      if (fail) throw new Error('down');
      batches.push(new Map(batch));
    });
    r.touch('a', T0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(writer).toHaveBeenCalledTimes(2);
    expect(batches).toEqual([new Map([['a', new Date(T0)]])]);
  });

  it('keeps a newer use that arrived while a write was failing over the failed one', async () => {
    const gate = deferred<void>();
    const batches: Map<string, Date>[] = [];
    let calls = 0;
    const { r } = recorder(1000, async (batch) => {
      calls++;
      if (calls === 1) {
        await gate.promise;
        throw new Error('down');
      }
      batches.push(new Map(batch));
    });
    r.touch('a', T0);
    const flushing = r.flush();
    r.touch('a', T0 + 10);
    gate.resolve();
    await flushing;
    await r.flush();
    expect(batches).toEqual([new Map([['a', new Date(T0 + 10)]])]);
  });

  it('a flush called while a write is under way waits for it', async () => {
    const gate = deferred<void>();
    const batches: Map<string, Date>[] = [];
    let running = 0;
    let overlap = false;
    const { r, writer } = recorder(1000, async (batch) => {
      running++;
      if (running > 1) overlap = true;
      if (batches.length === 0) await gate.promise;
      batches.push(new Map(batch));
      running--;
    });
    r.touch('a', T0);
    const first = r.flush();
    await settle();
    expect(writer).toHaveBeenCalledTimes(1);
    r.touch('b', T0 + 1);
    const second = r.flush();
    await settle();
    expect(writer).toHaveBeenCalledTimes(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(writer).toHaveBeenCalledTimes(2);
    expect(overlap).toBe(false);
    expect(batches).toEqual([new Map([['a', new Date(T0)]]), new Map([['b', new Date(T0 + 1)]])]);
  });

  it('two flushes in one tick, with a use in between, still write one after the other', async () => {
    const gate = deferred<void>();
    let running = 0;
    let maxRunning = 0;
    const batches: Map<string, Date>[] = [];
    const { r } = recorder(1000, async (batch) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (batches.length === 0) await gate.promise;
      batches.push(new Map(batch));
      running--;
    });
    r.touch('a', T0);
    const first = r.flush();
    queueMicrotask(() => r.touch('b', T0 + 1));
    const second = r.flush();
    await settle();
    gate.resolve();
    await Promise.all([first, second]);
    await r.flush();
    expect(maxRunning).toBe(1);
    expect(batches).toEqual([new Map([['a', new Date(T0)]]), new Map([['b', new Date(T0 + 1)]])]);
  });

  it('keeps the failed uses even when reporting the failure throws', async () => {
    let fail = true;
    const batches: Map<string, Date>[] = [];
    const writer = vi.fn(async (batch: Batch) => {
      if (fail) throw new Error('down');
      batches.push(new Map(batch));
    });
    const r = new LastUsedRecorder(writer, 1000, () => {
      throw new Error('reporter down');
    });
    r.touch('a', T0);
    await expect(r.flush()).resolves.toBeUndefined();
    fail = false;
    await r.flush();
    expect(batches).toEqual([new Map([['a', new Date(T0)]])]);
  });

  it('close() writes what is pending and leaves no timer, even when that write fails', async () => {
    const { r, writer, batches } = recorder(60_000);
    r.touch('a', T0);
    await r.close();
    expect(writer).toHaveBeenCalledTimes(1);
    expect(batches).toEqual([new Map([['a', new Date(T0)]])]);
    expect(vi.getTimerCount()).toBe(0);

    const failing = recorder(1000, async () => {
      throw new Error('down');
    });
    failing.r.touch('a', T0);
    await failing.r.close();
    expect(failing.errors).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(failing.writer).toHaveBeenCalledTimes(1);
  });
});
