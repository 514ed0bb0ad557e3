import { LIST_LIMIT_MAX } from './list-paging.js';
import type { ApiKeyRecord, KeyStore } from './store-types.js';

/**
 * The active key that names `old` as the key it replaced, if there is one: `old` is then inside
 * its rotation overlap, and `KeyManager.rotate` refuses to rotate it again
 * (`api_key_already_rotated`). Pages through the workspace's active keys.
 */
export async function activeSuccessorOf(
  store: Pick<KeyStore, 'list'>,
  old: ApiKeyRecord,
  now: number,
): Promise<ApiKeyRecord | undefined> {
  let cursor: string | undefined;
  do {
    const page = await store.list({
      workspaceId: old.workspaceId,
      status: 'active',
      now: new Date(now),
      limit: LIST_LIMIT_MAX,
      cursor,
    });
    const found = page.items.find((record) => record.rotatedFromId === old.id);
    if (found !== undefined) return found;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return undefined;
}
