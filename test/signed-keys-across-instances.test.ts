import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createKeyManager,
  createSigningKeys,
  generateSigningKey,
  type KeyChangeFeed,
} from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-express';
import { createRedisChangeFeed } from '@orkesta/auth-redis';
import { migrate, PostgresKeyStore } from '@orkesta/auth-store-postgres';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from './http.js';
import { POSTGRES_URL, REDIS_URL, serviceAvailable } from './services.js';

// Both servers are needed; under CI either one missing fails loudly.
const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Resolves once Redis has confirmed the feed's subscription. */
function subscribed(feed: KeyChangeFeed): Promise<void> {
  return new Promise((resolve) => {
    const stop = feed.subscribe(
      () => {},
      () => {
        stop();
        resolve();
      },
    );
  });
}

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  cleanup.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A store and a Redis change feed of their own, on the shared schema and channel. */
async function connections(schema: string, channel: string) {
  const store = new PostgresKeyStore({ connectionString: POSTGRES_URL, schema });
  cleanup.push(() => store.close());
  const redis = new Redis(REDIS_URL);
  cleanup.push(() => redis.quit().catch(() => redis.disconnect()));
  const changeFeed = createRedisChangeFeed({ redis, channel });
  cleanup.push(() => changeFeed.close());
  await subscribed(changeFeed);
  return { store, changeFeed };
}

describe.skipIf(!available)(
  'signed keys across instances: an issuer serving its JWKS, an edge verifying against its URL',
  () => {
    it('the edge admits signed keys offline, and hears a revocation through Redis within 1 second', async () => {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      cleanup.push(async () => {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      });
      await migrate({ connectionString: POSTGRES_URL, schema });
      const channel = `orkesta-test:${schema}:changes`;

      // The issuer: holds the private key, records keys, publishes its JWKS.
      const { kid, privateKey } = generateSigningKey({ kid: 'issuer-2026-11' });
      const signing = createSigningKeys({
        issuer: 'https://keys.orkesta.test',
        audience: 'https://payments.orkesta.test',
        keys: [{ kid, privateKey }],
      });
      const issuerSide = await connections(schema, channel);
      const keys = createKeyManager({ ...issuerSide, signing });
      const issuerApp = express();
      issuerApp.get('/.well-known/jwks.json', serveJwks(signing));
      const issuerUrl = await listen(issuerApp);

      // The edge: no private key, no pepper; the JWKS URL, the store and the feed.
      const edgeSide = await connections(schema, channel);
      const edgeApp = express();
      const auth = orkestaAuth({
        ...edgeSide,
        requireHttps: false,
        lastUsed: false,
        signedKeys: {
          issuer: 'https://keys.orkesta.test',
          audience: 'https://payments.orkesta.test',
          jwks: { url: `${issuerUrl}/.well-known/jwks.json` },
        },
      });
      edgeApp.use(auth);
      edgeApp.get('/v1/payments', requireScope('read-write'), (req, res) => {
        res.json({ keyId: req.auth?.keyId, workspaceId: req.auth?.workspaceId });
      });
      const edgeUrl = await listen(edgeApp);

      const issued = await keys.create({
        workspaceId: 'ws_1',
        name: 'edge-eu',
        scope: 'read-write',
        kind: 'signed',
      });
      const get = () =>
        send(edgeUrl, { path: '/v1/payments', headers: { authorization: `Bearer ${issued.key}` } });
      for (let i = 0; i < 3; i++) {
        const admitted = await get();
        expect(admitted.status).toBe(200);
        expect(admitted.json).toEqual({ keyId: issued.record.id, workspaceId: 'ws_1' });
      }

      const revokedAt = performance.now();
      await keys.revoke(issued.record.id);
      let refused = await get();
      while (refused.status === 200 && performance.now() - revokedAt < 1_000) {
        await sleep(10);
        refused = await get();
      }
      expect(refused.status).toBe(401);
      expect((refused.json as { code: string }).code).toBe('api_key_revoked');
      expect(performance.now() - revokedAt).toBeLessThan(1_000);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      await auth.authenticator.close();
    });
  },
);
