import { AuthUnavailableError, RateLimitExceededError } from '../errors.js';
import type { RateLimitDecision, RateLimitRule, RateLimitSettings } from '../rate-limit.js';
import { rateLimitField, retryAfterSeconds } from '../rate-limit.js';
import type { KnownKey } from '../stored-record.js';

/** The `RateLimit-Policy` and `RateLimit` fields of an admitted request, if it sends them. */
export type RateHeaders = Readonly<Record<string, string>> | undefined;

/** What the rate step answers: the headers to send, or the refusal. */
export type RateAnswer = RateHeaders | RateLimitExceededError | AuthUnavailableError;

/**
 * The rate step: one request counted against the key's rate (its own, else its scope's), in
 * the limiter. Over it: 429 `rate_limit_exceeded` with `Retry-After`, `RateLimit-Policy` and
 * `RateLimit`. A limiter that throws or rejects admits nothing: 503 `auth_unavailable`, reported
 * first. A key without a rate, or rate limiting turned off, passes at once.
 */
export function takeRate(
  settings: RateLimitSettings | undefined,
  known: KnownKey,
  now: number,
  retryAfterOnFailure: number,
  report: (error: unknown, keyId: string) => void,
): RateAnswer | Promise<RateAnswer> {
  const rule = settings === undefined ? undefined : known.rateRule;
  if (rule === undefined) return undefined;
  let decision: RateLimitDecision | Promise<RateLimitDecision>;
  try {
    decision = settings!.limiter.take(known.rateBucket, rule, now);
  } catch (error) {
    return limiterFailed(error, known, retryAfterOnFailure, report);
  }
  if (decision instanceof Promise) {
    return decision.then(
      (settled) => answer(settings!, known, rule, settled),
      (error: unknown) => limiterFailed(error, known, retryAfterOnFailure, report),
    );
  }
  return answer(settings!, known, rule, decision);
}

function answer(
  settings: RateLimitSettings,
  known: KnownKey,
  rule: RateLimitRule,
  decision: RateLimitDecision,
): RateAnswer {
  const fields = {
    'RateLimit-Policy': rule.policyField,
    RateLimit: rateLimitField(rule, decision),
  };
  if (!decision.allowed) {
    return new RateLimitExceededError(known.id, retryAfterSeconds(decision.retryAfterMs), fields);
  }
  return settings.headers ? fields : undefined;
}

function limiterFailed(
  error: unknown,
  known: KnownKey,
  retryAfter: number,
  report: (error: unknown, keyId: string) => void,
): AuthUnavailableError {
  report(error, known.id);
  return new AuthUnavailableError(retryAfter, known.id);
}
