import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/** What a `Gate` does with connections: hold them unanswered, pass them on, or cut them. */
export type GateMode = 'blackhole' | 'forward' | 'reset';

/**
 * A loopback TCP server standing between a client and a real server (PostgreSQL, Redis), to
 * break the network on cue: `blackhole` accepts connections and never answers, `forward` relays
 * them to the real server, `reset` cuts them as they arrive. `cut()` drops every connection open
 * through it; `stall()` silences them and `resume()` lets them talk again: a server that froze
 * (a `SIGSTOP`, a full disk) and thawed.
 */
export interface Gate {
  readonly port: number;
  /** `target` with the gate's address in place of the server's. */
  readonly url: string;
  mode: GateMode;
  cut(): void;
  /** Stops relaying on every open connection, leaving them open: the server seems to hang. */
  stall(): void;
  /** Relays again on the connections `stall` silenced, and forwards new ones. */
  resume(): void;
  close(): Promise<void>;
}

/** A gate in front of the server at `target` (a `postgres://` or `redis://` URL). */
export async function openGate(target: string, mode: GateMode): Promise<Gate> {
  const upstreamUrl = new URL(target);
  const sockets = new Set<Socket>();
  const relays = new Set<[Socket, Socket]>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    if (gate.mode === 'reset') {
      client.resetAndDestroy();
    } else if (gate.mode === 'forward') {
      const upstream = connect({
        host: upstreamUrl.hostname,
        port: Number(upstreamUrl.port || defaultPort(upstreamUrl)),
      });
      track(upstream);
      client.pipe(upstream).pipe(client);
      const relay: [Socket, Socket] = [client, upstream];
      relays.add(relay);
      client.on('close', () => {
        relays.delete(relay);
        upstream.destroy();
      });
      upstream.on('close', () => client.destroy());
    }
    // blackhole: keep the socket, read nothing, answer nothing.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  const gate: Gate = {
    port,
    url: url.toString(),
    mode,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    stall() {
      gate.mode = 'blackhole';
      for (const [client, upstream] of relays) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      gate.mode = 'forward';
      for (const [client, upstream] of relays) {
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.resume();
      }
    },
    async close() {
      gate.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return gate;
}

function defaultPort(url: URL): number {
  return url.protocol === 'redis:' ? 6379 : 5432;
}
