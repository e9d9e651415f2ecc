import { randomInt } from 'node:crypto';
import { InvalidArgumentError, RouteError, StoreUnavailableError, type RouteStrategy } from '@sched/core';
import { LuaScript, connectionOf, type RedisConnection } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));
const routeScript = load('route-2.lua');
const acceptScript = load('accept-1.lua');

export interface RouteDecision {
  /** The nodes that run the message, in order (`'sharding'`: shard `i` is `targets[i]`; `'failover'`: the order to try). */
  targets: string[];
  /** False when the message had been routed before (a duplicate delivery): the same targets. */
  fresh: boolean;
}

/**
 * Routes execute messages once, over the live nodes serving the job, in one
 * Lua call per message (SPEC.md §10, DESIGN.md): whichever node or client
 * routes a `messageId` first records its targets; any later call gets the
 * same ones. `'round-robin'` keeps one counter per job for the cluster.
 * `'failover'` turns are taken with `accept`. Keys share the `{<prefix>}` hash tag (one slot on a Cluster).
 */
export class RemoteRouter {
  readonly connection: RedisConnection;

  constructor(
    source: RedisConnection | { connection: RedisConnection },
    private readonly options: { retentionMs?: number } = {},
  ) {
    this.connection = connectionOf(source);
  }

  private get retentionMs(): number {
    return this.options.retentionMs ?? 3_600_000;
  }

  async route(
    messageId: string,
    request: { jobName: string; strategy: RouteStrategy; nodeId?: string | undefined },
    liveNodes: readonly string[],
  ): Promise<RouteDecision> {
    if (!messageId) throw new InvalidArgumentError('execute', 'messageId must be a non-empty string');
    const nodes = [...new Set(liveNodes)].sort();
    let reply: unknown;
    try {
      reply = await this.connection.run(
        'execute.route',
        routeScript,
        [this.connection.globalKey('remote', 'route', messageId), this.connection.globalKey('remote', 'rr', request.jobName)],
        [request.strategy, this.retentionMs, randomInt(1_000_000) / 1_000_000, request.nodeId ?? '', ...nodes],
      );
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      const message = (error as Error).message;
      const m = /ROUTE (.*)$/.exec(message);
      throw new RouteError('execute', m ? `job "${request.jobName}": ${m[1]}` : message, { cause: error });
    }
    const [fresh, ...targets] = reply as [number, ...string[]];
    return { targets, fresh: fresh === 1 };
  }

  /** `'failover'`: true for the first node to accept the message (a later place finds it taken). */
  async accept(messageId: string): Promise<boolean> {
    const reply = await this.connection.run(
      'execute.accept',
      acceptScript,
      [this.connection.globalKey('remote', 'accepted', messageId)],
      [this.retentionMs],
    );
    return reply === 1;
  }
}
