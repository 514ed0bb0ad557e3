/**
 * The demo's log of failures (`onError` of the authenticator, the key manager, the limiter): one
 * line per distinct failure, never a stack. The first of a kind is written at once; more of the
 * same within `everyMs` are counted, and one line with the count is written when that time is up.
 * A store that is down writes two lines every few seconds, not one per request.
 */
export class QuietErrorLog {
  readonly #write: (line: string) => void;
  readonly #everyMs: number;
  /** Per distinct failure: how many more came since its last line, and the timer that tells. */
  readonly #pending = new Map<string, { count: number; timer: NodeJS.Timeout }>();

  constructor(write: (line: string) => void, everyMs = 5_000) {
    this.#write = write;
    this.#everyMs = everyMs;
  }

  /** Reports `error` of `what` (`lookup failed`, `publish failed`, …). */
  report(what: string, error: unknown): void {
    const line = `[auth] ${what}: ${describe(error)}`;
    const pending = this.#pending.get(line);
    if (pending !== undefined) {
      pending.count++;
      return;
    }
    this.#write(line);
    this.#hold(line);
  }

  /** Writes the counts still held, and stops the timers. */
  close(): void {
    for (const [line, { count, timer }] of this.#pending) {
      clearTimeout(timer);
      if (count > 0) this.#write(`${line} (${count} more)`);
    }
    this.#pending.clear();
  }

  #hold(line: string): void {
    const entry = {
      count: 0,
      timer: setTimeout(() => {
        this.#pending.delete(line);
        if (entry.count === 0) return;
        const seconds = Math.round(this.#everyMs / 1_000);
        this.#write(`${line} (${entry.count} more in the last ${seconds} s)`);
        // Still failing: the next ones wait for the next line.
        this.#hold(line);
      }, this.#everyMs),
    };
    entry.timer.unref();
    this.#pending.set(line, entry);
  }
}

/** `Name (code): first line of the message`, without a stack or anything after a newline. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).split('\n')[0]!;
  const code = (error as { code?: unknown }).code;
  const name = typeof code === 'string' ? `${error.name} (${code})` : error.name;
  return `${name}: ${error.message.split('\n')[0]}`;
}
