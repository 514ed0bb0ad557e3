import { createKeyManager, createSigningKeys, generateSigningKey } from '@orkesta/auth';
import { orkestaAuth, requireScope, serveJwks } from '@orkesta/auth-express';
import { migrate } from '@orkesta/auth-store-postgres';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { send } from './http.js';
import { freshSchema, instanceConnections, listening, refusal, useCleanup } from './lifecycle.js';
import { POSTGRES_URL, serviceAvailable } from './services.js';

// Both servers are needed; under CI either one missing fails loudly.
const available = (await serviceAvailable('postgres')) && (await serviceAvailable('redis'));

const cleanup = useCleanup();

/** A store and a Redis change feed of their own, on the shared schema and channel. */
const connections = async (schema: string, channel: string) => {
  const { store, changeFeed } = await instanceConnections(cleanup, schema, channel);
  return { store, changeFeed };
};

describe.skipIf(!available)(
  'signed keys across instances: an issuer serving its JWKS, an edge verifying against its URL',
  () => {
    it('the edge admits signed keys offline, and hears a revocation through Redis within 1 second', async () => {
      const schema = await freshSchema(cleanup);
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
      const issuerUrl = await listening(issuerApp.listen(0, '127.0.0.1'), cleanup);

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
      const edgeUrl = await listening(edgeApp.listen(0, '127.0.0.1'), cleanup);

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

      await keys.revoke(issued.record.id);
      const seen = await refusal(async () => {
        const response = await get();
        return response.status === 200 ? 'ok' : (response.json as { code: string }).code;
      }, 1_000);
      expect(seen.code).toBe('api_key_revoked');
      expect(seen.elapsedMs).toBeLessThan(1_000);
      const refused = await get();
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      await auth.authenticator.close();
    });
  },
);
