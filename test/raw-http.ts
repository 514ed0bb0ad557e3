import { connect, type Socket } from 'node:net';

/** One header line as it goes on the wire: the name as written, the value as raw bytes. */
export type HeaderLine = readonly [name: string, value: Buffer];

export interface RawRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers: readonly HeaderLine[];
}

export interface RawAnswer {
  readonly status: number;
  /** Lower-case names; a name sent several times keeps every value, in order. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A keep-alive HTTP/1.1 connection over a plain TCP socket that pipelines requests: a whole
 * batch is written at once, and the answers are read back in order. It sends header bytes
 * exactly as given (obs-text, odd spacing, several lines of one name), which Node's HTTP
 * client, fetch and supertest normalise or refuse. Answers are parsed just far enough for
 * tests: status line, header fields, and a body framed by Content-Length or chunked coding.
 */
export class PipelinedConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting:
    | { count: number; answers: RawAnswer[]; resolve(a: RawAnswer[]): void; reject(e: Error): void }
    | undefined;
  #closed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    const end = (error?: Error) => {
      this.#closed ??= error ?? new Error('the server closed the connection');
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(
        new Error(
          `connection ended after ${waiting.answers.length} of ${waiting.count} answers: ${this.#closed.message}`,
        ),
      );
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  /** Opens a connection to `baseUrl` (`http://host:port`). */
  static open(baseUrl: string): Promise<PipelinedConnection> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new PipelinedConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes every request, then resolves with their answers in the same order. */
  send(requests: readonly RawRequest[]): Promise<RawAnswer[]> {
    if (this.#waiting !== undefined) throw new Error('one batch at a time');
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const parts: Buffer[] = [];
    for (const request of requests) {
      parts.push(
        Buffer.from(
          `${request.method ?? 'GET'} ${request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`,
          'latin1',
        ),
      );
      for (const [name, value] of request.headers) {
        parts.push(Buffer.from(`${name}: `, 'latin1'), value, CRLF);
      }
      parts.push(request.method === 'POST' ? Buffer.from('Content-Length: 0\r\n\r\n') : CRLF);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { count: requests.length, answers: [], resolve, reject };
      this.#socket.write(Buffer.concat(parts));
      this.#drain();
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #drain(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    for (;;) {
      const parsed = parseAnswer(this.#buffer);
      if (parsed === undefined) break;
      this.#buffer = this.#buffer.subarray(parsed.length);
      waiting.answers.push(parsed.answer);
      if (waiting.answers.length === waiting.count) {
        this.#waiting = undefined;
        waiting.resolve(waiting.answers);
        return;
      }
    }
  }
}

/** One complete answer at the start of `buffer`, and its length; `undefined` if incomplete. */
function parseAnswer(buffer: Buffer): { answer: RawAnswer; length: number } | undefined {
  const headEnd = buffer.indexOf(HEADER_END);
  if (headEnd < 0) return undefined;
  const lines = buffer.toString('latin1', 0, headEnd).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] =
      previous === undefined
        ? value
        : Array.isArray(previous)
          ? [...previous, value]
          : [previous, value];
  }
  const bodyStart = headEnd + HEADER_END.length;
  if (headers['transfer-encoding'] === 'chunked') {
    const chunks: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const sizeEnd = buffer.indexOf(CRLF, at);
      if (sizeEnd < 0) return undefined;
      const size = Number.parseInt(buffer.toString('latin1', at, sizeEnd), 16);
      const dataStart = sizeEnd + CRLF.length;
      if (buffer.length < dataStart + size + CRLF.length) return undefined;
      if (size === 0) {
        return { answer: { status, headers, body: Buffer.concat(chunks) }, length: dataStart + 2 };
      }
      chunks.push(buffer.subarray(dataStart, dataStart + size));
      at = dataStart + size + CRLF.length;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < bodyStart + length) return undefined;
  return {
    answer: { status, headers, body: buffer.subarray(bodyStart, bodyStart + length) },
    length: bodyStart + length,
  };
}
