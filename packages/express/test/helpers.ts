import { createKeyManager, MemoryKeyStore } from '../src/index.js';

/** A store with one key of each scope in workspace `ws_1`. */
export async function storeWithKeys() {
  const store = new MemoryKeyStore();
  const manager = createKeyManager({ store });
  const issue = async (scope: 'read-only' | 'read-write' | 'admin') =>
    (await manager.create({ workspaceId: 'ws_1', name: `test-${scope}`, scope })).key;
  return {
    store,
    manager,
    keys: {
      readOnly: await issue('read-only'),
      readWrite: await issue('read-write'),
      admin: await issue('admin'),
    },
  };
}
