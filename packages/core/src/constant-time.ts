/**
 * Whether two strings of the same length are equal, in time that depends on their length only.
 *
 * For the hot path, where a presented token is compared with the one a cache entry remembers:
 * `crypto.timingSafeEqual` needs both as bytes, and copying the token into a buffer and calling
 * into C++ twice cost more than the rest of a cached verification together (measured in
 * bench/, see RESULTS.md). The loop has no branch and no memory access that depends on the
 * characters: every character is read and folded into `difference`, whatever came before. The
 * constant-time benchmark (bench/constant-time.mjs) checks the whole cached path for a difference
 * between a wrong first and a wrong last character.
 *
 * Lengths are compared first and openly: callers compare only strings whose length is not secret
 * (every key of the format has the same).
 */
export function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
