import { connect } from 'node:net';

/** Where the tests find the servers this machine runs; override with these variables. */
export const POSTGRES_URL =
  process.env.ORKESTA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.ORKESTA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const START = {
  postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
} as const;

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Whether the named server answers. Under `CI=true` an unreachable server is a failure, not a
 * skip: the suite throws with the command that starts it. Elsewhere the caller skips its tests,
 * and the reason is printed.
 */
export async function serviceAvailable(service: 'postgres' | 'redis'): Promise<boolean> {
  const url = service === 'postgres' ? POSTGRES_URL : REDIS_URL;
  if (await reachable(url)) return true;
  const reason = `${service} is not reachable at ${url}; start it with: ${START[service]}`;
  if (process.env.CI) throw new Error(reason);
  console.warn(`skipping ${service} tests: ${reason}`);
  return false;
}
