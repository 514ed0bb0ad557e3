import type { AuthenticatedKey } from '../auth-request.js';
import { WorkspaceMismatchError } from '../errors.js';

/**
 * The workspace step: a key of another workspace than the route's gets 403
 * `workspace_mismatch`. A route that names no workspace (`undefined`) admits any.
 */
export function workspaceError(
  key: AuthenticatedKey,
  workspaceId: string | undefined,
): WorkspaceMismatchError | undefined {
  return workspaceId !== undefined && workspaceId !== key.workspaceId
    ? new WorkspaceMismatchError(key.keyId)
    : undefined;
}
