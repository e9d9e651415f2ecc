import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts, startTracked, stopProcess, waitForOutput } from './process.js';

/** True when a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether Redis tests can run here. Under `CI=true` a missing `redis-server`
 * is a failure (it throws), never a silent skip; elsewhere the tests skip
 * with a message naming the apt line.
 */
export function canRunRedis(): boolean {
  if (hasRedisServer()) return true;
  const message = 'redis-server is not installed (sudo apt-get install -y redis-server)';
  if (process.env.CI === 'true') throw new Error(`sched testkit: ${message}; CI must run every Redis test`);
  console.warn(`sched testkit: skipping Redis tests: ${message}`);
  return false;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--hz', '100']`. */
  args?: string[];
  /** @default a free port */
  port?: number;
}

/**
 * A `redis-server` of the test's own, on a free port, with no persistence,
 * killed by PID at `stop()` (and when the test process exits).
 */
export class RedisServer {
  readonly host = '127.0.0.1';
  private child: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'sched-redis-'));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options.args ?? []);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the server (its data is gone: no persistence). */
  async stop(): Promise<void> {
    if (this.child) await stopProcess(this.child, 'SIGTERM');
    this.child = undefined;
  }

  /** Kills the server at once (SIGKILL). */
  async kill(): Promise<void> {
    if (this.child) await stopProcess(this.child, 'SIGKILL');
    this.child = undefined;
  }

  /**
   * Sends a signal to the server: `SIGSTOP` freezes it (clients time out, the data
   * stays: an unreachable Redis), `SIGCONT` resumes it.
   */
  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid !== undefined && this.running) process.kill(this.child.pid, signal);
  }

  /** Stops and starts again on the same port: a restart without persistence (all data lost). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private async launch(): Promise<void> {
    const child = startTracked('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      this.host,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--protected-mode',
      'no',
      ...this.args,
    ]);
    this.child = child;
    await waitForOutput(child, /Ready to accept connections/, 10_000, `redis-server on port ${this.port}`);
  }
}

export interface RedisClusterInfo {
  nodes: Array<{ host: string; port: number }>;
  servers: RedisServer[];
  stop(): Promise<void>;
}

/**
 * A 3-master Redis Cluster of the test's own (no replicas), each master on a
 * free port with a free bus port. Takes about 2–3 s; start it once per test file.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterInfo> {
  const masters = options.masters ?? 3;
  const ports = await freePorts(masters * 2);
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = ports[i] as number;
      const bus = ports[masters + i] as number;
      servers.push(
        await RedisServer.start({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '2000',
            '--cluster-port',
            String(bus),
          ],
        }),
      );
    }
    execFileSync(
      'redis-cli',
      ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        stdio: 'pipe',
        timeout: 30_000,
      },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = servers.map((s) =>
        execFileSync('redis-cli', ['-p', String(s.port), 'cluster', 'info'], { encoding: 'utf8' }),
      );
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ok within 20 s:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.dispose()));
    throw error;
  }
  return {
    nodes: servers.map((s) => ({ host: s.host, port: s.port })),
    servers,
    stop: async () => {
      await Promise.all(servers.map((s) => s.dispose()));
    },
  };
}
