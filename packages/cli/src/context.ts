import { Redis, Cluster } from 'ioredis';
import { RedisConfigStore, RedisConnection, RedisNodeRegistry, RedisSnapshotRepository, type RedisClient } from '@sched/cluster';
import { CliError, ExitCode } from './errors.js';

export interface GlobalOptions {
  redis?: string;
  cluster?: boolean;
  prefix: string;
  json?: boolean;
  connectTimeout: string;
}

/**
 * The cluster as the CLI reads it: one Redis client (connected on first use,
 * closed at the end), and the adapters the nodes use, with their key prefix.
 */
export class CliContext {
  private client: RedisClient | undefined;
  private connection: RedisConnection | undefined;

  constructor(
    readonly options: GlobalOptions,
    readonly env: Record<string, string | undefined>,
  ) {}

  get url(): string {
    const url = this.options.redis ?? this.env.REDIS_URL;
    if (!url) throw new CliError('no Redis to talk to: pass --redis <url> or set REDIS_URL');
    return url;
  }

  /** Connects (once) and fails with exit code 2 when Redis does not answer. */
  async redis(): Promise<RedisConnection> {
    if (this.connection) return this.connection;
    const url = this.url;
    const timeout = Number(this.options.connectTimeout);
    let client: RedisClient;
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error('not a redis:// URL');
      client = this.options.cluster
        ? new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
            lazyConnect: true,
            enableOfflineQueue: false,
            clusterRetryStrategy: () => null,
            redisOptions: { connectTimeout: timeout, maxRetriesPerRequest: 1, password: parsed.password || undefined },
          })
        : new Redis(url, { lazyConnect: true, connectTimeout: timeout, maxRetriesPerRequest: 1, retryStrategy: () => null });
    } catch (error) {
      throw new CliError(`bad --redis URL ${JSON.stringify(url)}: ${(error as Error).message}`);
    }
    // The socket's own error (ECONNREFUSED, ENOTFOUND…) says more than the rejected connect().
    let socketError: Error | undefined;
    client.on('error', (error: Error) => (socketError ??= error));
    this.client = client;
    try {
      await withTimeout(client.connect(), timeout, `no answer within ${timeout} ms`);
      await withTimeout(client.ping(), timeout, `no answer to PING within ${timeout} ms`);
    } catch (error) {
      const reason = socketError?.message ?? (error as Error).message;
      throw new CliError(`cannot reach Redis at ${redact(url)}: ${reason}`, ExitCode.unreachable);
    }
    this.connection = new RedisConnection(client, { keyPrefix: this.options.prefix, commandTimeoutMs: timeout });
    return this.connection;
  }

  async registry(): Promise<RedisNodeRegistry> {
    return new RedisNodeRegistry(await this.redis(), { nodeId: `cli-${process.pid}` });
  }

  async configStore(): Promise<RedisConfigStore> {
    return new RedisConfigStore(await this.redis());
  }

  async history(): Promise<RedisSnapshotRepository> {
    return new RedisSnapshotRepository(await this.redis());
  }

  async close(): Promise<void> {
    await this.connection?.close();
    this.client?.disconnect();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
