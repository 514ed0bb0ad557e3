import type { AuthRequest } from '../auth-request.js';
import { HttpsRequiredError } from '../errors.js';

/**
 * The transport step: plain HTTP is refused with 403 `https_required` while HTTPS is required,
 * before the Authorization header is read. `secure` is the framework's judgement, so its
 * trust-proxy setting is honoured.
 */
export function transportError(
  request: AuthRequest,
  requireHttps: boolean,
): HttpsRequiredError | undefined {
  return requireHttps && request.secure !== true ? new HttpsRequiredError() : undefined;
}
