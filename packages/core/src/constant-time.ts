/**
 * Whether `text` equals the string whose character codes are `bytes` (one byte a character), in
 * time that depends on the length only.
 *
 * For the hot path, where a presented token is compared with the one a cache entry remembers:
 * `crypto.timingSafeEqual` needs both as bytes, and copying the token into a buffer and calling
 * into C++ twice cost more than the rest of a cached verification in a running server (measured
 * in bench/, see RESULTS.md). The loop has no branch and no memory access that depends on the
 * characters: every character is read and folded into `difference`, whatever came before. A
 * character beyond one byte never equals a byte (its high bits survive the XOR). The remembered
 * side is bytes, not a string: reading characters of a string sliced from a header costs several
 * times more a character. The constant-time benchmark (bench/constant-time.mjs) checks the whole
 * cached path for a difference between a wrong first and a wrong last character.
 *
 * Lengths are compared first and openly: callers compare only strings whose length is not secret
 * (every key of the format has the same).
 */
export function equalInConstantTime(text: string, bytes: Uint8Array): boolean {
  if (text.length !== bytes.length) return false;
  let difference = 0;
  for (let i = 0; i < bytes.length; i++) difference |= text.charCodeAt(i) ^ bytes[i]!;
  return difference === 0;
}
