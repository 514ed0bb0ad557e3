// Signed keys of @orkesta/auth (the BUILT package: `tsc -b` first), against
// express-oauth2-jwt-bearer verifying an equivalent JWT, in the same run.
//
//   node bench/signed-keys.mjs             prints a markdown table
//   import { runSignedKeysBench }          returns the rows (bench/run.mjs does)
//
// One Ed25519 (EdDSA) signing key. Our side: a signed key issued by KeyManager, checked by
// authenticate() with the verification cache on (the key is remembered after its first
// verification) and off (jose checks the signature on every call; the store record stays
// cached, so no case makes a store lookup). The peer: express-oauth2-jwt-bearer's auth()
// middleware, given the same public key as a local JWKS (`publicKey: { keys }`), verifying the
// very same JWS (the signed key without its `orks_live_<id>_` prefix): the same header,
// claims, signature and algorithm. Reference: jose's jwtVerify alone on that JWS, the floor of
// any uncached verification.

import {
  createAuthenticator,
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
} from '@orkesta/auth';
import { auth as oauth2JwtBearer } from 'express-oauth2-jwt-bearer';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Bench } from 'tinybench';
import { addCountedCases, CountingStore, microSettings, warmUp } from './authenticate.mjs';
import { formatInteger, isMain, perCall, runAlone } from './common.mjs';

const ISSUER = 'https://keys.bench.example';
const AUDIENCE = 'https://api.bench.example';

export const SIGNED_CACHED = 'authenticate(): signed key, verification cache on';
export const SIGNED_UNCACHED = 'authenticate(): signed key, verification cache off';
export const PEER = 'express-oauth2-jwt-bearer auth(): the same JWS';
export const JOSE_ALONE = 'reference: jose jwtVerify() alone, local JWKS';
export const OPAQUE_CACHED = 'reference: authenticate(): opaque key, cached';

/** What the peer's middleware reads of an Express request, and nothing else. */
function peerRequest(jwt) {
  const headers = { authorization: `Bearer ${jwt}`, host: 'api.bench.example' };
  return {
    headers,
    method: 'GET',
    protocol: 'https',
    originalUrl: '/v1/accounts',
    url: '/v1/accounts',
    query: {},
    body: undefined,
    is: () => false,
    get: (name) => headers[name.toLowerCase()],
  };
}

/** Runs the peer middleware once; resolves to the verified payload, rejects with its error. */
function runPeer(middleware, jwt) {
  const req = peerRequest(jwt);
  return new Promise((resolve, reject) => {
    middleware(req, {}, (error) =>
      error === undefined ? resolve(req.auth.payload) : reject(error),
    );
  });
}

export async function runSignedKeysBench({ log = () => {}, settings = microSettings() } = {}) {
  const { kid, privateKey } = generateSigningKey({ kid: 'bench' });
  const signing = createSigningKeys({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [{ kid, privateKey }],
  });
  const store = new CountingStore();
  const manager = createKeyManager({ store, signing });
  const issued = await manager.create({
    workspaceId: 'ws_bench',
    name: 'bench-signed',
    scope: 'read-only',
    kind: 'signed',
    // Both sides check exp; the peer requires one.
    expiresAt: Date.now() + 365 * 86_400_000,
  });
  const opaque = await manager.create({
    workspaceId: 'ws_bench',
    name: 'bench-opaque',
    scope: 'read-only',
  });
  const jws = issued.key.slice(issued.key.indexOf('_eyJ') + 1);
  const jwks = signing.jwks();

  const common = { store, requireHttps: false, lastUsed: false, failedAttempts: false };
  const signedKeys = { issuer: ISSUER, audience: AUDIENCE, jwks };
  const cached = createAuthenticator({ ...common, signedKeys });
  const uncached = createAuthenticator({
    ...common,
    signedKeys: { ...signedKeys, verificationCache: false },
  });
  const peer = oauth2JwtBearer({
    issuer: ISSUER,
    audience: AUDIENCE,
    publicKey: jwks,
    tokenSigningAlg: 'EdDSA',
  });
  const keySet = createLocalJWKSet(jwks);
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] };

  const request = (token) => ({ authorization: `Bearer ${token}`, secure: false, ip: '127.0.0.1' });
  const signedRequest = request(issued.key);
  const opaqueRequest = request(opaque.key);

  // Each side must verify for real, or its figure means nothing: the key is admitted, and a
  // tampered one refused, by every verifier.
  const [header, payload] = jws.split('.');
  const tamperedClaims = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'admin' }),
  ).toString('base64url');
  const tampered = `${header}.${tamperedClaims}.${jws.split('.')[2]}`;
  const tamperedKey = issued.key.replace(jws, tampered);
  for (const [name, authenticator] of [
    ['cached', cached],
    ['uncached', uncached],
  ]) {
    const ok = await authenticator.authenticate(signedRequest);
    if (!ok.ok) throw new Error(`${name}: the signed key was refused: ${ok.error.code}`);
    const refused = await authenticator.authenticate(request(tamperedKey));
    if (refused.ok || refused.error.code !== 'invalid_api_key')
      throw new Error(`${name}: a tampered key passed`);
  }
  if ((await runPeer(peer, jws)).jti !== issued.record.id) throw new Error('peer: wrong payload');
  if (
    (await runPeer(peer, tampered).then(
      () => 'passed',
      (error) => error.code,
    )) !== 'invalid_token'
  ) {
    throw new Error('peer: a tampered JWT passed');
  }
  if ((await jwtVerify(jws, keySet, joseOptions)).payload.jti !== issued.record.id) {
    throw new Error('jose: wrong payload');
  }
  if (!(await cached.authenticate(opaqueRequest)).ok) throw new Error('the opaque key was refused');
  if (cached.authenticateMaybeSync(signedRequest) instanceof Promise) {
    throw new Error('the cached signed key was not remembered');
  }

  let sink = 0;
  // A signature check takes hundreds of µs here: fewer calls per sample for those cases.
  const cases = [
    {
      name: SIGNED_CACHED,
      batch: 1_000,
      fn: async (n) => {
        for (let i = 0; i < n; i++) if ((await cached.authenticate(signedRequest)).ok) sink++;
      },
    },
    {
      name: SIGNED_UNCACHED,
      batch: 20,
      fn: async (n) => {
        for (let i = 0; i < n; i++) if ((await uncached.authenticate(signedRequest)).ok) sink++;
      },
    },
    {
      name: PEER,
      batch: 20,
      fn: async (n) => {
        for (let i = 0; i < n; i++) if ((await runPeer(peer, jws)).jti !== undefined) sink++;
      },
    },
    {
      name: JOSE_ALONE,
      batch: 20,
      fn: async (n) => {
        for (let i = 0; i < n; i++) if ((await jwtVerify(jws, keySet, joseOptions)).payload) sink++;
      },
    },
    {
      name: OPAQUE_CACHED,
      batch: 1_000,
      fn: async (n) => {
        for (let i = 0; i < n; i++) if ((await cached.authenticate(opaqueRequest)).ok) sink++;
      },
    },
  ];

  const batched = (c) => () => c.fn(c.batch);
  log(`warming up (${settings.warmupMs} ms per case)…`);
  await warmUp(cases, settings.warmupMs, batched);

  const lookups = new Map();
  const bench = new Bench({
    time: settings.timeMs,
    iterations: 16,
    warmupTime: Math.min(250, settings.warmupMs),
    warmupIterations: 4,
    throws: true,
  });
  addCountedCases(bench, cases, store, lookups, batched);
  log(`measuring ${cases.length} cases (${settings.timeMs} ms each)…`);
  await bench.run();
  await cached.close();
  await uncached.close();
  if (sink === 0) throw new Error('nothing was computed');

  const rows = cases.map((c) => ({
    name: c.name,
    batch: c.batch,
    ...perCall(bench, c.name, c.batch),
    storeLookups: lookups.get(c.name) ?? Number.NaN,
  }));
  const ops = (name) => rows.find((r) => r.name === name).opsPerSecond;
  return {
    rows,
    tokenLength: issued.key.length,
    ratios: {
      cachedOverPeer: ops(SIGNED_CACHED) / ops(PEER),
      uncachedOverPeer: ops(SIGNED_UNCACHED) / ops(PEER),
      cachedOverUncached: ops(SIGNED_CACHED) / ops(SIGNED_UNCACHED),
      uncachedOverJose: ops(SIGNED_UNCACHED) / ops(JOSE_ALONE),
      peerOverJose: ops(PEER) / ops(JOSE_ALONE),
    },
  };
}

export function formatSignedKeysTable(result) {
  const lines = [
    '| case | verifications/s | mean µs | p99 µs (of batches) | ± rme | calls per sample | samples | store lookups |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.name} | ${formatInteger(r.opsPerSecond)} | ${(r.meanNs / 1e3).toFixed(2)} | ` +
        `${(r.p99Ns / 1e3).toFixed(2)} | ${r.rmePercent.toFixed(1)} % | ${r.batch} | ${r.samples} | ${r.storeLookups} |`,
    );
  }
  return lines.join('\n');
}

export function formatSignedKeysRatios(result) {
  const { ratios } = result;
  return [
    '| ratio (verifications/s) | value |',
    '|---|--:|',
    `| signed key, verification cache on / express-oauth2-jwt-bearer | ${ratios.cachedOverPeer.toFixed(1)} |`,
    `| signed key, verification cache off / express-oauth2-jwt-bearer | ${ratios.uncachedOverPeer.toFixed(3)} |`,
    `| verification cache on / off | ${ratios.cachedOverUncached.toFixed(1)} |`,
    `| verification cache off / jose jwtVerify alone | ${ratios.uncachedOverJose.toFixed(3)} |`,
    `| express-oauth2-jwt-bearer / jose jwtVerify alone | ${ratios.peerOverJose.toFixed(3)} |`,
  ].join('\n');
}

export const section = {
  id: 'signed',
  title: 'Signed keys: verification, against express-oauth2-jwt-bearer',
  env: ['BENCH_MICRO_TIME', 'BENCH_MICRO_WARMUP'],
  async run({ log }) {
    const signed = await runSignedKeysBench({ log, settings: microSettings() });
    const body = [
      `One Ed25519 (EdDSA) signing key; a signed key of ${signed.tokenLength} characters issued by \`KeyManager\`.`,
      '`authenticate()` with the verification cache on (the key is remembered after its first',
      'verification: a constant-time comparison, then revocation and expiry) and off (jose checks',
      "the signature and claims on every call; the key's store record stays cached). The peer is",
      "express-oauth2-jwt-bearer's `auth()` middleware, given the same public key as a local JWKS",
      '(`publicKey: { keys }`, `tokenSigningAlg: EdDSA`), verifying the very same JWS (the signed key',
      'without its `orks_live_<id>_` prefix), called in process with a minimal Express-like request.',
      'jose alone is the floor of any verification that checks a signature. Before measuring, every',
      'verifier admits the key and refuses a tampered one. A sample is a batch (see "calls per',
      'sample"); no case asks the store.',
      '',
      formatSignedKeysTable(signed),
      '',
      formatSignedKeysRatios(signed),
    ].join('\n');
    return { settings: 'as core', verdicts: [], body, failures: [] };
  },
};

if (isMain(import.meta.url)) await runAlone(section);
