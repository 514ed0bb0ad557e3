import { Agent } from 'node:http';
import type { RotatedKey } from '@orkesta/auth';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningApp } from './adapters/harness.js';
import { send } from './http.js';
import type { SecuritySetup } from './security-fixtures.js';
import { ADAPTERS, outcome, securitySetup, T0 } from './security-fixtures.js';

/**
 * Rotation while requests flow, through every adapter. A client sends requests from
 * CONCURRENCY workers over keep-alive connections; the key is rotated with an hour's overlap
 * while they run; the client goes on with the old key for a while (its new configuration has
 * not rolled out), the injected clock moves to the last second of the window, then the client
 * switches to the successor. Not one request may fail. Once the flow has stopped, the old key is
 * admitted at the last millisecond of the window and refused at its first instant after.
 */

const CONCURRENCY = 8;
const TOTAL = 480;
const ROTATE_AT = 120;
const LATE_IN_WINDOW_AT = 240;
const SWITCH_AT = 360;
const OVERLAP_MS = 60 * 60 * 1000;

interface Sent {
  readonly which: 'old' | 'successor';
  /** Whether the rotation had completed when the request was sent. */
  readonly afterRotation: boolean;
  readonly status: number;
  readonly code: string;
}

describe.each(ADAPTERS)('rotation under load through $name', (harness) => {
  let setup: SecuritySetup;
  let app: RunningApp;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  afterEach(async () => {
    agent.destroy();
    await app.close();
    await setup.authenticator.close();
  });

  it(`${TOTAL} requests from ${CONCURRENCY} concurrent workers, rotated mid-flow with a ${OVERLAP_MS / 60_000}-minute overlap: zero failures; the old key is refused from the instant the window closes`, async () => {
    setup = securitySetup();
    const old = await setup.issue('read-write');
    app = await harness.start(setup.authenticator);
    const request = (key: string) =>
      send(app.baseUrl, {
        method: 'POST',
        path: '/write',
        headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-Proto': 'https' },
        agent,
      });

    let current = old.key;
    let next = 0;
    let rotation: Promise<RotatedKey> | undefined;
    let rotated = false;
    const sent: Sent[] = [];
    const worker = async () => {
      for (let n = next++; n < TOTAL; n = next++) {
        if (n === ROTATE_AT) {
          // Not awaited: the requests keep flowing while the rotation runs.
          rotation = setup.manager.rotate(old.id, { overlapMs: OVERLAP_MS });
          void rotation.then(() => {
            rotated = true;
          });
        }
        if (n === LATE_IN_WINDOW_AT) setup.clock.set(T0 + OVERLAP_MS - 1_000);
        if (n === SWITCH_AT) current = (await rotation!).issued.key;
        const key = current;
        const afterRotation = rotated;
        const res = await request(key);
        sent.push({
          which: key === old.key ? 'old' : 'successor',
          afterRotation,
          status: res.status,
          code: outcome(res),
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(sent).toHaveLength(TOTAL);
    expect(sent.filter((s) => s.status !== 200)).toEqual([]);
    // The overlap was used: the old key kept working after the rotation had completed, and the
    // successor worked from the moment the client switched.
    expect(sent.filter((s) => s.which === 'old' && s.afterRotation).length).toBeGreaterThan(100);
    expect(sent.filter((s) => s.which === 'successor')).toHaveLength(TOTAL - SWITCH_AT);

    const { issued, previous } = await rotation!;
    expect(previous.expiresAt).toEqual(new Date(T0 + OVERLAP_MS));
    const closes = previous.expiresAt!.getTime();
    setup.clock.set(closes - 1);
    expect(outcome(await request(old.key))).toBe('ok');
    setup.clock.set(closes);
    expect(outcome(await request(old.key))).toBe('api_key_expired');
    expect(outcome(await request(issued.key))).toBe('ok');
  });
});
