import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { EXECUTE_CHANNEL, executeReplySchema, routeStrategySchema, signEnvelope, type Envelope } from '@sched/remote';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { ms, positiveInt, table, type Io } from '../format.js';
import { checkJobName } from './history.js';

type Reply = ReturnType<typeof executeReplySchema.parse>;

/** Strategies that run on every live node serving the job (one reply each); the others on one node. */
const EVERY_NODE = new Set(['broadcast', 'sharding']);

export function triggerCommand(program: Command, ctx: () => CliContext, io: Io): void {
  program
    .command('trigger')
    .description('runs a job now on the cluster (remote execution) and prints each node’s outcome')
    .argument('<job>', 'job name', checkJobName)
    .option('--route <strategy>', `route strategy: ${routeStrategySchema.options.join(', ')} (default first)`, (s: string) => {
      const parsed = routeStrategySchema.safeParse(s);
      if (!parsed.success) throw new Error(`unknown route strategy "${s}"; one of ${routeStrategySchema.options.join(', ')}`);
      return parsed.data;
    })
    .option('--node <id>', "run on this node (route 'specific')")
    .option('--params <json>', 'params for the job, a JSON object', (text: string) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new Error(`--params is not JSON: ${(error as Error).message}`, { cause: error });
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('--params must be a JSON object');
      return value as Record<string, unknown>;
    })
    .option(
      '--timeout <ms>',
      'how long to wait for the outcomes (default 30000)',
      (t: string) => positiveInt('--timeout', t, 86_400_000),
      30_000,
    )
    .option('--secret <secret>', "the cluster's executeSecret to sign with (or SCHED_EXECUTE_SECRET)")
    .action(
      async (
        job: string,
        opts: {
          route?: Envelope['routeStrategy'];
          node?: string;
          params?: Record<string, unknown>;
          timeout: number;
          secret?: string;
        },
      ) => {
        const c = ctx();
        if (opts.node !== undefined && opts.route !== undefined && opts.route !== 'specific') {
          throw new CliError(`--node names one node: it goes with --route specific (or no --route), not ${opts.route}`);
        }
        if (opts.route === 'specific' && opts.node === undefined) throw new CliError('--route specific needs --node <id>');
        const route = opts.node !== undefined ? 'specific' : (opts.route ?? 'first');
        const nodes = await (await c.registry()).getAllNodes();
        const serving = nodes.filter((n) => n.jobs.includes(job)).map((n) => n.nodeId);
        if (serving.length === 0) throw new CliError(`no live node serves job "${job}" (see: sched nodes, sched jobs)`);
        if (opts.node !== undefined && !serving.includes(opts.node)) {
          throw new CliError(
            `node "${opts.node}" is not live or does not serve "${job}"; live nodes serving it: ${serving.join(', ')}`,
          );
        }
        const expected = EVERY_NODE.has(route) ? serving.length : 1;
        const messageId = randomUUID();
        const replyTo = `scheduler:execute:reply:cli-${messageId}`;
        const body: Omit<Envelope, 'signature' | 'timestamp'> = {
          messageId,
          messageType: 'execute',
          jobName: job,
          routeStrategy: route,
          timeoutMs: opts.timeout,
          replyTo,
          ...(opts.node === undefined ? {} : { nodeId: opts.node }),
          ...(opts.params ? { params: opts.params } : {}),
        };
        const secret = opts.secret ?? process.env.SCHED_EXECUTE_SECRET;
        const envelope = secret ? signEnvelope(body, secret) : body;

        const sub = await c.subscriber();
        const replies: Reply[] = [];
        try {
          let done: () => void = () => undefined;
          const all = new Promise<void>((resolve) => (done = resolve));
          sub.on('message', (_channel: string, raw: string) => {
            const parsed = executeReplySchema.safeParse(safeJson(raw));
            if (!parsed.success || parsed.data.messageId !== messageId) return;
            if (replies.some((r) => r.nodeId === parsed.data.nodeId)) return;
            replies.push(parsed.data);
            if (replies.length >= expected) done();
          });
          await sub.subscribe(replyTo);
          const main = (await c.redis()).client;
          await main.publish(EXECUTE_CHANNEL, JSON.stringify(envelope));
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeout)))]);
          clearTimeout(timer);
        } finally {
          sub.disconnect();
        }
        const outcomes = replies.map((r) => ({
          nodeId: r.nodeId,
          executionId: r.outcome.executionId,
          status: r.outcome.status,
          durationMs: r.outcome.finishedAt - r.outcome.startedAt,
          error: r.outcome.error?.message ?? r.outcome.skipReason,
        }));
        if (c.options.json) io.out(JSON.stringify({ messageId, routeStrategy: route, outcomes }, null, 2));
        else {
          io.out(
            table(
              ['node', 'status', 'duration', 'execution', 'error'],
              outcomes.map((o) => [o.nodeId, o.status, ms(o.durationMs), o.executionId, o.error]),
            ),
          );
        }
        if (replies.length < expected) {
          throw new CliError(
            `${expected - replies.length} of ${expected} outcome${expected === 1 ? '' : 's'} did not come within ${opts.timeout} ms` +
              (secret ? '' : ' (if the cluster has an executeSecret, pass --secret)'),
          );
        }
        const bad = outcomes.filter((o) => o.status !== 'completed');
        if (bad.length > 0) throw new CliError(`${bad.length} execution${bad.length === 1 ? '' : 's'} did not complete`);
      },
    );
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
