import { describe, expect, it } from 'vitest';
import { authenticatorFromOptions, middlewareOptions } from '../src/adapter.js';
import type { KeyChangeFeed } from '../src/index.js';
import {
  Authenticator,
  ConfigurationError,
  createAuthenticator,
  createKeyManager,
  MemoryKeyStore,
} from '../src/index.js';
import { bearer } from './helpers.js';

/** A feed that counts its subscribers: building an authenticator subscribes to it. */
function countingFeed(): KeyChangeFeed & { readonly subscribed: () => number } {
  let subscribed = 0;
  return {
    subscribe: () => {
      subscribed++;
      return () => {};
    },
    publish: async () => {},
    subscribed: () => subscribed,
  };
}

function configurationError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('authenticatorFromOptions', () => {
  it('builds an authenticator from its options, leaving out the adapter’s own', async () => {
    const store = new MemoryKeyStore();
    const issued = await createKeyManager({ store }).create({
      workspaceId: 'ws_1',
      name: 'erp',
      scope: 'read-only',
    });
    const auth = authenticatorFromOptions({ store, realm: 'payments', mount: '/x' } as never, [
      'mount',
    ]);
    expect(auth).toBeInstanceOf(Authenticator);
    expect(auth.realm).toBe('payments');
    expect((await auth.authenticate(bearer(issued.key))).ok).toBe(true);
  });

  it('hands back an authenticator made elsewhere, with the adapter’s options beside it', () => {
    const made = createAuthenticator({ store: new MemoryKeyStore() });
    expect(authenticatorFromOptions({ authenticator: made, mount: '/x' } as never, ['mount'])).toBe(
      made,
    );
  });

  it('refuses authenticator options beside a ready authenticator: they would be ignored', () => {
    const made = createAuthenticator({ store: new MemoryKeyStore() });
    const error = configurationError(() =>
      authenticatorFromOptions({ authenticator: made, realm: 'x' } as never, []),
    );
    expect(error.option).toBe('realm');
  });

  it('refuses an authenticator not made by createAuthenticator', () => {
    configurationError(() => authenticatorFromOptions({ authenticator: {} } as never, []));
  });

  it.each<unknown>([undefined, null, 'store'])('refuses %j as options', (options) => {
    configurationError(() => authenticatorFromOptions(options as never, []));
  });

  it('names an unknown option and the one it likely meant, before building anything', () => {
    const changeFeed = countingFeed();
    const store = new MemoryKeyStore();
    const error = configurationError(() =>
      authenticatorFromOptions({ store, changeFeed, mont: '/x' } as never, ['mount']),
    );
    expect([error.option, error.suggestion]).toEqual(['mont', 'mount']);
    expect(changeFeed.subscribed()).toBe(0);
  });
});

describe('middlewareOptions', () => {
  it('resolves the workspace resolver and the failure mode, defaulting to respond', () => {
    const workspace = () => 'ws_1';
    const store = new MemoryKeyStore();
    const resolved = middlewareOptions({ store, workspace }, 'next');
    expect(resolved.authenticator).toBeInstanceOf(Authenticator);
    expect(resolved.workspace).toBe(workspace);
    expect(resolved.onFailure).toBe('respond');
    expect(middlewareOptions({ store, onFailure: 'next' }, 'next').onFailure).toBe('next');
    expect(middlewareOptions({ store, onFailure: 'respond' }, 'next').onFailure).toBe('respond');
  });

  it.each<[string, Record<string, unknown>]>([
    ['a workspace that is not a function', { workspace: 'ws_1' }],
    ["another adapter's failure mode", { onFailure: 'throw' }],
    ['an unknown failure mode', { onFailure: 'ignore' }],
  ])('refuses %s without subscribing to the change feed', (_, bad) => {
    const changeFeed = countingFeed();
    configurationError(() =>
      middlewareOptions({ store: new MemoryKeyStore(), changeFeed, ...bad } as never, 'next'),
    );
    expect(changeFeed.subscribed()).toBe(0);
  });

  it.each<unknown>([undefined, null, 42])('refuses %j as options', (options) => {
    configurationError(() => middlewareOptions(options as never, 'next'));
  });
});
