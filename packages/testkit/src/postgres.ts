import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, startTracked, stopProcess, waitForOutput } from './process.js';

/** The directory of the PostgreSQL server binaries, if installed (Debian layout first). */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'postgres'))) return join(base, v, 'bin');
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'postgres'))) return dir;
  } catch {
    // no pg_config
  }
  return undefined;
}

/**
 * Whether PostgreSQL tests can run: `DATABASE_URL` is set, or the server
 * binaries are installed. Under `CI=true` neither is a failure (it throws).
 */
export function canRunPostgres(): boolean {
  if (process.env.DATABASE_URL || postgresBinDir()) return true;
  const message = 'no DATABASE_URL and no PostgreSQL server binaries (sudo apt-get install -y postgresql)';
  if (process.env.CI === 'true') throw new Error(`sched testkit: ${message}; CI must run every PostgreSQL test`);
  console.warn(`sched testkit: skipping PostgreSQL tests: ${message}`);
  return false;
}

interface Owner {
  uid: number;
  gid: number;
}

/** initdb refuses root: run the server as the `postgres` user when we are root. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * A PostgreSQL server of the test's own: `initdb` into a temp directory, then
 * `postgres` on a free port with fsync off; killed by PID at `stop()`.
 * `DATABASE_URL`, when set, is used instead (then `stop`/`restart` are
 * unavailable: never stop a server the test did not start).
 */
export class PostgresServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly url: string,
    readonly owned: boolean,
    private readonly bin: string | undefined,
    private readonly dir: string | undefined,
    readonly port: number,
    private readonly owner: Owner | undefined,
  ) {}

  static async start(options: { useDatabaseUrl?: boolean } = {}): Promise<PostgresServer> {
    const fromEnv = process.env.DATABASE_URL;
    if (fromEnv && options.useDatabaseUrl !== false)
      return new PostgresServer(fromEnv, false, undefined, undefined, 0, undefined);
    const bin = postgresBinDir();
    if (!bin) throw new Error('sched testkit: PostgreSQL server binaries not found (sudo apt-get install -y postgresql)');
    const owner = serverOwner();
    const dir = mkdtempSync(join(tmpdir(), 'sched-pg-'));
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const data = join(dir, 'data');
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '-N'], {
      stdio: 'pipe',
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });
    const port = await freePort();
    const server = new PostgresServer(`postgres://postgres@127.0.0.1:${port}/postgres`, true, bin, dir, port, owner);
    await server.launch();
    return server;
  }

  /** Stops the server (data kept: `start()` brings it back with its data). */
  async stop(): Promise<void> {
    this.assertOwned('stop');
    // SIGQUIT: immediate shutdown, as a crash would be.
    if (this.child) await stopProcess(this.child, 'SIGQUIT');
    this.child = undefined;
  }

  /** Starts a stopped server again on the same port, with its data. */
  async restart(): Promise<void> {
    this.assertOwned('restart');
    if (this.child) await this.stop();
    await this.launch();
  }

  async dispose(): Promise<void> {
    if (!this.owned) return;
    if (this.child) await stopProcess(this.child, 'SIGQUIT');
    this.child = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private assertOwned(api: string): void {
    if (!this.owned)
      throw new Error(`sched testkit: ${api}: this server comes from DATABASE_URL; fault tests need a server of their own`);
  }

  private async launch(): Promise<void> {
    const bin = this.bin as string;
    const dir = this.dir as string;
    const child = startTracked(
      join(bin, 'postgres'),
      [
        '-D',
        join(dir, 'data'),
        '-p',
        String(this.port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      this.owner ? { uid: this.owner.uid, gid: this.owner.gid } : {},
    );
    this.child = child;
    await waitForOutput(child, /database system is ready to accept connections/, 30_000, `postgres on port ${this.port}`);
  }
}

/** The user this process runs as (for messages). */
export function currentUser(): string {
  return userInfo().username;
}
