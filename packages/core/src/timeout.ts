/**
 * What `work` gives, or a rejection with `timeoutError()` once `ms` have passed, whichever comes
 * first. The timer never outlives the call; `work` is not stopped (nothing can stop a promise),
 * its late outcome is ignored.
 */
export async function within<T>(
  work: () => T | PromiseLike<T>,
  ms: number,
  timeoutError: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(work),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
