// Called as `charCodeAt.call(text, i)` through this module's own constant (an imported one is
// not a constant to V8's optimiser, and the call would not be inlined). V8 inlines
// `text.charCodeAt(i)` only while `String.prototype`'s map is stable, and the first object made
// with `String.prototype` as its prototype ends that for the life of the process: a `class …
// extends String`, such as ioredis 6's `VerbatimString`, loaded by every application that
// imports ioredis (and by `@orkesta/auth-redis`). Measured side by side in one process on Node 20
// here, as an adapter calls the core: with ioredis loaded, a cached key admitted in 425 ns
// instead of 835 and a bad checksum refused in 1,110 instead of 1,430; without it, 2 to 6 %
// slower (410 against 400 ns), which a cached request's HTTP cost (tens of µs) does not show.
const charCodeAt = String.prototype.charCodeAt;

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
  for (let i = 0; i < bytes.length; i++) difference |= charCodeAt.call(text, i) ^ bytes[i]!;
  return difference === 0;
}
