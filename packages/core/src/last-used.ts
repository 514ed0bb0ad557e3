/**
 * Collects `lastUsedAt` per key and writes it in one batch per interval, so the store sees a
 * bounded number of writes per second whatever the request rate.
 */
export class LastUsedRecorder {
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
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

  /**
   * Writes what is pending now. Writes never overlap: a flush called while one is under way
   * runs after it. A failed batch is kept for the next flush.
   */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const previous = this.#writing;
    const run =
      previous === undefined ? this.#writeBatch() : previous.then(() => this.#writeBatch());
    this.#writing = run;
    void run.then(() => {
      if (this.#writing === run) this.#writing = undefined;
    });
    return run;
  }

  /** Takes the pending uses (synchronously, before any await) and writes them. Never rejects. */
  async #writeBatch(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const dates = new Map<string, Date>();
    for (const [id, at] of batch) dates.set(id, new Date(at));
    try {
      await this.#write(dates);
    } catch (error) {
      try {
        this.#onError(error);
      } catch {
        // Reporting failed too; the uses are kept below all the same.
      }
      // Keep the failed uses unless a newer use of the same key arrived meanwhile.
      for (const [id, at] of batch) {
        if ((this.#pending.get(id) ?? 0) < at) this.#pending.set(id, at);
      }
      this.#arm();
    }
  }

  /** Writes what is pending and disarms the timer, even if that last write failed. */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
