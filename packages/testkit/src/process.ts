import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Every process a test helper started, killed by PID when this process exits, whatever happens. */
const children = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const child of children) {
      try {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killAll);
  // Killed by a signal, Node exits without 'exit': a benchmark or test run stopped with Ctrl-C or
  // kill would leave its servers behind. Where nobody else handles the signal, the helpers go first.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Starts a long-lived helper process, tracked so it dies with the test process. */
export function startTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  hookExit();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Waits until `child` prints a line matching `pattern` (stdout or stderr), or fails after `timeoutMs`. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) done();
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what} exited (code ${String(code)}) before it was ready:\n${seen.slice(-2_000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} was not ready within ${timeoutMs} ms:\n${seen.slice(-2_000)}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    const done = (): void => {
      cleanup();
      resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if the process lingers. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** A TCP port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Several distinct free ports (held open together while choosing, so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/**
 * Reads a child's commands from `input` (its stdin), one JSON value per line, and
 * hands each to `handle`, in order. A line that is not JSON goes to `onMalformed`
 * (by default a line on stderr) and the reader goes on. Returns a function that
 * stops reading.
 */
export function readJsonLines(
  input: NodeJS.ReadableStream,
  handle: (value: unknown) => void,
  onMalformed: (line: string, error: Error) => void = (line, error) =>
    process.stderr.write(`ignored a malformed command line (${error.message}): ${line.slice(0, 200)}\n`),
): () => void {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (error) {
      onMalformed(line, error as Error);
      return;
    }
    handle(value);
  });
  return () => lines.close();
}
