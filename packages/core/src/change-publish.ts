import { ChangeFeedTimeoutError } from './errors.js';
import type { KeyChangeFeed } from './store-types.js';
import { within } from './timeout.js';

/** What the key manager tells when a change could not be published. */
export type PublishErrorHandler = (
  error: unknown,
  context: { operation: 'publish'; keyIds: readonly string[] },
) => void;

/**
 * Tells `feed` of a change, waiting at most `timeoutMs`. Best effort: the change is already
 * saved and its result (perhaps a plaintext key shown only now) must reach the caller, so a
 * failure or a timeout goes to `onError` (`ChangeFeedTimeoutError` for a timeout), never up.
 */
export async function publishChange(
  feed: KeyChangeFeed,
  keyIds: readonly string[],
  timeoutMs: number,
  onError: PublishErrorHandler,
): Promise<void> {
  try {
    await within(
      () => feed.publish(keyIds),
      timeoutMs,
      () => new ChangeFeedTimeoutError(timeoutMs),
    );
  } catch (error) {
    try {
      onError(error, { operation: 'publish', keyIds });
    } catch {
      // A throwing error hook has nowhere left to report to.
    }
  }
}

/** Without `onError`, a change the feed did not take is a process warning: never silent. */
export function warnUnpublished(error: unknown, context: { keyIds: readonly string[] }): void {
  const reason = error instanceof Error ? error.message : String(error);
  process.emitWarning(
    `the change feed was not told of keys ${context.keyIds.join(', ')} (${reason}); other instances see the change when their cache entries end`,
    'OrkestaAuthWarning',
  );
}
