import type { AuthRequest } from './auth-request.js';
import { AuthUnavailableError } from './errors.js';
import type { KeyHasher } from './hashing.js';
import type { HookCaller } from './hooks.js';
import type { KeyCache } from './key-cache.js';
import { extractBearerToken } from './steps/extract.js';
import { wellFormedKeyId } from './steps/format.js';
import type { LookupOutcome } from './steps/lookup.js';
import { UNKNOWN } from './steps/lookup.js';
import type { FailedAttemptThrottle } from './steps/throttle.js';

export interface InsecureKeyCheck {
  readonly maxHeaderLength: number;
  readonly cache: KeyCache;
  readonly hasher: KeyHasher;
  readonly throttle: FailedAttemptThrottle | undefined;
  readonly hooks: HookCaller;
  readonly now: () => number;
}

/**
 * Insecure-transport reporting, for `onInsecureKey`: whether a request refused for plain HTTP
 * carried a real key, opaque or signed. Runs after the refusal, off the request's path: only a
 * well-formed token (an opaque key's shape and checksum, a signed key's shape) is looked up,
 * through the same caches as any request, and only one whose secret the stored hash accepts is
 * reported. The brute-force throttle holds as over HTTPS: a throttled address is not looked up,
 * and a wrong secret counts as a failure.
 */
export function reportInsecureKey(check: InsecureKeyCheck, request: AuthRequest): void {
  const token = extractBearerToken(request.authorization, check.maxHeaderLength);
  if (typeof token !== 'string') return;
  const id = wellFormedKeyId(token);
  if (id === undefined) return;
  // Read while the request is current: the lookup may settle after the answer has gone.
  const origin = { ip: request.ip, path: request.path };
  const now = check.now();
  if (check.throttle !== undefined && check.throttle.blockedForMs(origin.ip, now) > 0) return;
  const settle = (known: LookupOutcome): void => {
    if (known instanceof AuthUnavailableError) return; // already reported to onError
    if (known !== UNKNOWN && check.hasher.verify(token, known.hash)) {
      check.hooks.insecureKey({ keyId: known.id, ...origin });
    } else {
      check.throttle?.recordFailure(origin.ip, check.now());
    }
  };
  const known = check.cache.cached(id, now) ?? check.cache.lookup(id, now);
  if (known instanceof Promise) void known.then(settle);
  else settle(known);
}
