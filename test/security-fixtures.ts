import type {
  AuthenticatedEvent,
  Authenticator,
  AuthenticatorOptions,
  AuthHooks,
  ErrorContext,
  InsecureKeyEvent,
  RejectedEvent,
  Scope,
} from '@orkesta/auth';
import { createAuthenticator, createKeyManager, MemoryKeyStore } from '@orkesta/auth';

export { ADAPTERS } from './adapters/all.js';

import { WORKSPACE } from './fixtures.js';

export const T0 = Date.parse('2026-11-27T10:00:00.000Z');

/** How the store answers lookups: as it should, by failing, never, or late. */
export type StoreBehaviour =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'failing' }
  | { readonly kind: 'hanging' }
  | { readonly kind: 'slow'; readonly delayMs: number };

/**
 * A memory store whose lookups can fail the ways a database does: throw, hang, or answer late.
 * It counts every lookup. `release()` heals it and lets hung lookups finish, so nothing is left
 * pending.
 */
export class UnreliableStore extends MemoryKeyStore {
  behaviour: StoreBehaviour = { kind: 'healthy' };
  readonly lookups: string[] = [];
  readonly #hung = new Set<() => void>();

  override async findById(id: string) {
    this.lookups.push(id);
    const behaviour = this.behaviour;
    if (behaviour.kind === 'failing') throw new Error(`connection refused while reading ${id}`);
    if (behaviour.kind === 'hanging') await new Promise<void>((resolve) => this.#hung.add(resolve));
    if (behaviour.kind === 'slow') {
      await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    }
    return super.findById(id);
  }

  /** Makes the store healthy again and lets the lookups it hung finish. */
  release(): void {
    this.behaviour = { kind: 'healthy' };
    for (const resolve of this.#hung) resolve();
    this.#hung.clear();
  }
}

export interface Captured {
  readonly authenticated: AuthenticatedEvent[];
  readonly rejected: RejectedEvent[];
  readonly errors: { error: unknown; context: ErrorContext }[];
  readonly insecure: InsecureKeyEvent[];
}

/** Hooks that keep everything they are told. */
export function capturingHooks(): { hooks: AuthHooks; captured: Captured } {
  const captured: Captured = { authenticated: [], rejected: [], errors: [], insecure: [] };
  return {
    captured,
    hooks: {
      onAuthenticated: (event) => captured.authenticated.push(event),
      onRejected: (event) => captured.rejected.push(event),
      onError: (error, context) => captured.errors.push({ error, context }),
      onInsecureKey: (event) => captured.insecure.push(event),
    },
  };
}

export interface ManualClock {
  readonly now: () => number;
  set(ms: number): void;
}

export function manualClock(start = T0): ManualClock {
  let t = start;
  return {
    now: () => t,
    set(ms) {
      t = ms;
    },
  };
}

export interface SecuritySetup {
  readonly clock: ManualClock;
  readonly store: UnreliableStore;
  readonly manager: ReturnType<typeof createKeyManager>;
  readonly authenticator: Authenticator;
  readonly captured: Captured;
  /** Issues a key in the conformance workspace; returns its plaintext and id. */
  issue(
    scope?: Scope,
    extra?: { expiresAt?: number | Date },
  ): Promise<{ key: string; id: string; secret: string }>;
}

/** A store, a manager and an authenticator on one injected clock, every hook captured. */
export function securitySetup(options: Partial<AuthenticatorOptions> = {}): SecuritySetup {
  const clock = manualClock();
  const store = new UnreliableStore();
  const manager = createKeyManager({ store, now: clock.now });
  const { hooks, captured } = capturingHooks();
  const authenticator = createAuthenticator({ store, now: clock.now, hooks, ...options });
  return {
    clock,
    store,
    manager,
    authenticator,
    captured,
    async issue(scope = 'read-only', extra = {}) {
      const issued = await manager.create({
        workspaceId: WORKSPACE,
        name: `security-${scope}`,
        scope,
        ...extra,
      });
      return { key: issued.key, id: issued.record.id, secret: issued.key.slice(22, 54) };
    },
  };
}

/** The problem `code` of an answer, or `ok` for a 200. */
export function outcome(res: { status: number; json: unknown }): string {
  if (res.status === 200) return 'ok';
  return String((res.json as { code?: unknown } | undefined)?.code);
}
