/**
 * Collects `lastUsedAt` per key and writes it in one batch per interval, so the store sees a
 * bounded number of writes per second whatever the request rate.
 */
export class LastUsedRecorder {
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  readonly #write: (batch: ReadonlyMap<string, Date>) => Promise<void>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;

  constructor(
    write: (batch: ReadonlyMap<string, Date>) => Promise<void>,
    intervalMs: number,
    onError: (error: unknown) => void,
  ) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Notes a use at `atMs`. The first use after a flush arms the timer. */
  touch(keyId: string, atMs: number): void {
    this.#pending.set(keyId, atMs);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => void this.flush(), this.#intervalMs);
    // A pending write must not keep the process alive.
    this.#timer.unref();
  }

  /** Writes what is pending now. A failed batch is kept for the next flush. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const dates = new Map<string, Date>();
    for (const [id, at] of batch) dates.set(id, new Date(at));
    this.#flushing = (async () => {
      try {
        await this.#write(dates);
      } catch (error) {
        this.#onError(error);
        // Keep the failed uses unless a newer use of the same key arrived meanwhile.
        for (const [id, at] of batch) {
          if ((this.#pending.get(id) ?? 0) < at) this.#pending.set(id, at);
        }
        this.#arm();
      }
    })();
    await this.#flushing;
    this.#flushing = undefined;
  }

  /** Writes what is pending and disarms the timer, even if that last write failed. */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
