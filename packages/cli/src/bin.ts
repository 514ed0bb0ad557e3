#!/usr/bin/env node
import { createInterface } from 'node:readline';
import { run } from './cli.js';

/** The first line of stdin; on a terminal, asks for it on stderr (stdout stays for results). */
function readLine(): Promise<string | undefined> {
  const input = process.stdin;
  if (input.isTTY) process.stderr.write('API key: ');
  return new Promise((resolve) => {
    const lines = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
    let first: string | undefined;
    lines.once('line', (line) => {
      first = line;
      lines.close();
    });
    lines.once('close', () => {
      // Stop reading, so that a stdin left open by the caller does not keep the process alive.
      input.pause();
      input.unref?.();
      resolve(first);
    });
  });
}

// A reader that goes away early (`| head`) is not a failure of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  readLine,
});
