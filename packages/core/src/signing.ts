import type { JsonWebKey } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';
import { SignJWT } from 'jose';
import { randomBase62 } from './base62.js';
import { ConfigurationError } from './errors.js';
import type { KeyEnvironment } from './key-format.js';
import { optionsObject, rejectUnknownOptions } from './options.js';
import type { Scope } from './scopes.js';
import { SIGNED_KEY_TYPE, signedKeyToken } from './signed-key.js';
import { positiveInteger } from './validate.js';

/** How signed keys are signed: Ed25519 (`EdDSA`, the default) or P-256 (`ES256`). */
export type SigningAlgorithm = 'EdDSA' | 'ES256';
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256'];

/** A key as Node reads one: a `KeyObject`, a JWK, or PEM text. */
export type KeyMaterial = KeyObject | JsonWebKey | string;

export interface SigningKeyInput {
  /** Names the key in each signed key's `kid` header and in the JWKS: 1 to 40 of `[A-Za-z0-9._-]`. */
  readonly kid: string;
  /** An Ed25519 or P-256 private key. The first key of `keys` needs one: it signs new keys. */
  readonly privateKey?: KeyMaterial | undefined;
  /** The public key: enough for a key that signs no more and is only published. */
  readonly publicKey?: KeyMaterial | undefined;
}

export interface SigningKeysOptions {
  /** The `iss` claim of every signed key: who issued it, e.g. `https://keys.example.com`. */
  readonly issuer: string;
  /** The `aud` claim: the API the keys are for, e.g. `https://api.example.com`. */
  readonly audience: string;
  /**
   * Every live signing key. The first signs new keys; all of them are published in the JWKS,
   * so keys they signed keep verifying until you remove them from this list.
   */
  readonly keys: readonly SigningKeyInput[];
}

/** What `signKey` puts in a signed key. */
export interface SignedKeyContent {
  readonly id: string;
  readonly environment: KeyEnvironment;
  readonly workspaceId: string;
  readonly scope: Scope;
  /** Epoch milliseconds; the claim is whole seconds, rounded down. */
  readonly issuedAt: number;
  /** Epoch milliseconds on a whole second, or `null` for a key that does not expire. */
  readonly expiresAt: number | null;
}

/** A JSON Web Key Set as published: public keys only, each with `kid`, `alg` and `use`. */
export type { JSONWebKeySet };

interface PublishedKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly jwk: JWK;
}

const KID = /^[A-Za-z0-9._-]{1,40}$/;
const CLAIM_TEXT = /^[\x21-\x7e]{1,100}$/;
/** JWK members that only a private or symmetric key has; a JWKS must never carry them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/**
 * The issuer's signing keys: the one that signs new signed keys, and those still published so
 * that keys they signed keep verifying. Private keys stay inside; `jwks()` gives the public half.
 * Made once, at startup; every key is checked here.
 */
export class SigningKeys {
  readonly issuer: string;
  readonly audience: string;
  /** The `kid` of the key that signs new keys. */
  readonly kid: string;
  /** Its algorithm, from its type: Ed25519 is `EdDSA`, P-256 `ES256`. */
  readonly algorithm: SigningAlgorithm;
  readonly #privateKey: KeyObject;
  readonly #published: readonly PublishedKey[];

  constructor(options: SigningKeysOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('signing keys need options: { issuer, audience, keys }');
    }
    rejectUnknownOptions(options, ['issuer', 'audience', 'keys'], 'signing');
    this.issuer = claimText(options.issuer, 'issuer');
    this.audience = claimText(options.audience, 'audience');
    const { keys } = options;
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new ConfigurationError('keys must list at least one signing key: { kid, privateKey }');
    }
    const published: PublishedKey[] = [];
    let signer: KeyObject | undefined;
    for (const [index, input] of keys.entries()) {
      if (input === null || typeof input !== 'object' || !isKid(input.kid)) {
        throw new ConfigurationError(
          `keys[${index}] needs a kid of 1 to 40 characters from [A-Za-z0-9._-]`,
        );
      }
      rejectUnknownOptions(input, ['kid', 'privateKey', 'publicKey'], `keys[${index}]`);
      const { kid } = input;
      if (published.some((key) => key.kid === kid)) {
        throw new ConfigurationError(`kid "${kid}" is used by two signing keys`);
      }
      const privateKey =
        input.privateKey === undefined ? undefined : readKey(input.privateKey, 'private', kid);
      const given =
        input.publicKey === undefined ? undefined : readKey(input.publicKey, 'public', kid);
      if (privateKey === undefined && given === undefined) {
        throw new ConfigurationError(`signing key "${kid}" needs a privateKey or a publicKey`);
      }
      const publicKey = privateKey === undefined ? given! : createPublicKey(privateKey);
      if (given !== undefined && !given.equals(publicKey)) {
        throw new ConfigurationError(
          `the publicKey of signing key "${kid}" is not its privateKey's`,
        );
      }
      if (index === 0) {
        if (privateKey === undefined) {
          throw new ConfigurationError(
            `the first signing key ("${kid}") signs new keys, so it needs its privateKey`,
          );
        }
        signer = privateKey;
      }
      const algorithm = algorithmOf(publicKey, kid);
      published.push({ kid, algorithm, jwk: publicJwk(publicKey, kid, algorithm) });
    }
    this.#privateKey = signer!;
    this.kid = published[0]!.kid;
    this.algorithm = published[0]!.algorithm;
    this.#published = published;
  }

  /** The public keys, as a JWKS to publish (`jwksResponse`) or to verify against. A new copy each call. */
  jwks(): JSONWebKeySet {
    return { keys: this.#published.map((key) => ({ ...key.jwk })) };
  }

  /**
   * A signed key for `content`, signed with the first key. `KeyManager` calls this and records
   * the key; a key that no store records authenticates nowhere.
   */
  async signKey(content: SignedKeyContent): Promise<string> {
    const claims: Record<string, unknown> = {
      workspace: content.workspaceId,
      scope: content.scope,
      env: content.environment,
    };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, kid: this.kid, typ: SIGNED_KEY_TYPE })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setJti(content.id)
      .setIssuedAt(Math.floor(content.issuedAt / 1000));
    if (content.expiresAt !== null) jwt.setExpirationTime(Math.floor(content.expiresAt / 1000));
    return signedKeyToken(content.environment, content.id, await jwt.sign(this.#privateKey));
  }
}

/** Checks `options` once and holds the keys; see `SigningKeys`. */
export function createSigningKeys(options: SigningKeysOptions): SigningKeys {
  return new SigningKeys(options);
}

export interface GeneratedSigningKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  /** The private JWK: keep it secret (a secret manager, an environment variable), never publish it. */
  readonly privateKey: JsonWebKey;
  /** The public JWK. */
  readonly publicKey: JsonWebKey;
}

/**
 * A new signing key pair from the CSPRNG, as JWKs with `kid` and `alg`: Ed25519 (`EdDSA`) by
 * default, or P-256 (`ES256`). `kid` defaults to 12 random base62 characters.
 */
export function generateSigningKey(
  given: { readonly kid?: string; readonly algorithm?: SigningAlgorithm } = {},
): GeneratedSigningKey {
  const options = optionsObject(given, ['kid', 'algorithm'], undefined, '{ kid?, algorithm? }');
  const algorithm = options.algorithm ?? 'EdDSA';
  if (!SIGNING_ALGORITHMS.includes(algorithm)) {
    throw new ConfigurationError(`algorithm must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  const kid = options.kid ?? randomBase62(12);
  if (!isKid(kid)) {
    throw new ConfigurationError('kid must be 1 to 40 characters from [A-Za-z0-9._-]');
  }
  const pair =
    algorithm === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tag = { kid, alg: algorithm };
  return {
    kid,
    algorithm,
    privateKey: { ...pair.privateKey.export({ format: 'jwk' }), ...tag },
    publicKey: { ...pair.publicKey.export({ format: 'jwk' }), ...tag },
  };
}

/** A response for any framework to send: the JWKS, with its content type and caching. */
export interface JwksResponse {
  readonly status: 200;
  readonly headers: Readonly<Record<string, string>>;
  /** The JWKS as JSON text. */
  readonly body: string;
}

export interface JwksResponseOptions {
  /** `Cache-Control: public, max-age=…`, in seconds. Default 300. */
  readonly maxAgeSeconds?: number;
}

export const JWKS_CONTENT_TYPE = 'application/jwk-set+json';

/**
 * The issuer's JWKS as a ready response, made once: adapters send it as it is (`serveJwks` in
 * Express and Koa, `OrkestaJwksModule` in Nest). Refuses, at creation, a set with any private
 * or symmetric key material.
 */
export function jwksResponse(
  source: SigningKeys | JSONWebKeySet,
  given: JwksResponseOptions = {},
): JwksResponse {
  const options = optionsObject(given, ['maxAgeSeconds'], undefined, '{ maxAgeSeconds? }');
  const jwks = source instanceof SigningKeys ? source.jwks() : checkPublicJwks(source);
  const maxAge = positiveInteger(options.maxAgeSeconds, 'maxAgeSeconds', 300, 31_536_000);
  return Object.freeze({
    status: 200,
    headers: Object.freeze({
      'Content-Type': JWKS_CONTENT_TYPE,
      'Cache-Control': `public, max-age=${maxAge}`,
    }),
    body: JSON.stringify(jwks),
  });
}

/**
 * `jwks` when it is a JWKS of public keys, each with a unique `kid`; a `ConfigurationError`
 * naming the problem otherwise. A private member (`d`, `k`, …) anywhere is refused outright.
 */
export function checkPublicJwks(jwks: unknown): JSONWebKeySet {
  if (jwks === null || typeof jwks !== 'object' || !Array.isArray((jwks as JSONWebKeySet).keys)) {
    throw new ConfigurationError('a JWKS must be an object { keys: [...] }');
  }
  const { keys } = jwks as JSONWebKeySet;
  if (keys.length === 0) throw new ConfigurationError('the JWKS has no keys');
  const kids = new Set<string>();
  for (const [index, key] of keys.entries()) {
    if (key === null || typeof key !== 'object') {
      throw new ConfigurationError(`JWKS keys[${index}] is not a JWK`);
    }
    if (PRIVATE_MEMBERS.some((member) => member in key)) {
      throw new ConfigurationError(
        `JWKS keys[${index}] holds private key material: publish and verify with public keys only`,
      );
    }
    if (typeof key.kid !== 'string' || key.kid.length === 0 || kids.has(key.kid)) {
      throw new ConfigurationError(`JWKS keys[${index}] needs a kid of its own`);
    }
    kids.add(key.kid);
  }
  return jwks as JSONWebKeySet;
}

/** The algorithm a public key signs with, or a `ConfigurationError` for any other key. */
export function algorithmOf(key: KeyObject, kid: string): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ES256';
  }
  throw new ConfigurationError(
    `signing key "${kid}" must be Ed25519 (EdDSA) or P-256 (ES256), not ${describeKey(key)}`,
  );
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? String(key.asymmetricKeyType) : `${key.asymmetricKeyType} ${curve}`;
}

function publicJwk(key: KeyObject, kid: string, algorithm: SigningAlgorithm): JWK {
  return { ...(key.export({ format: 'jwk' }) as JWK), kid, alg: algorithm, use: 'sig' };
}

/** A private or public `KeyObject` from what the user gave; a `ConfigurationError` if it is not one. */
export function readKey(material: KeyMaterial, type: 'private' | 'public', kid: string): KeyObject {
  let key: KeyObject;
  try {
    if (material instanceof KeyObject) key = material;
    else if (typeof material === 'string') {
      key = type === 'private' ? createPrivateKey(material) : createPublicKey(material);
    } else if (material !== null && typeof material === 'object') {
      const jwk = { key: material, format: 'jwk' } as const;
      key = type === 'private' ? createPrivateKey(jwk) : createPublicKey(jwk);
    } else throw new TypeError('not a key');
  } catch {
    // The material itself stays out of the message: it may be a private key.
    throw new ConfigurationError(
      `the ${type}Key of signing key "${kid}" is not a ${type} key (a KeyObject, a JWK or PEM text)`,
    );
  }
  if (key.type !== type) {
    throw new ConfigurationError(`the ${type}Key of signing key "${kid}" is a ${key.type} key`);
  }
  return key;
}

function isKid(value: unknown): value is string {
  return typeof value === 'string' && KID.test(value);
}

function claimText(value: unknown, name: string): string {
  if (typeof value !== 'string' || !CLAIM_TEXT.test(value)) {
    throw new ConfigurationError(
      `${name} must be 1 to 100 printable ASCII characters without spaces, e.g. "https://api.example.com"`,
    );
  }
  return value;
}
