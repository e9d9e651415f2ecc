import type { Command } from 'commander';
import { requestExecution, routeStrategySchema, type Envelope } from '@sched/remote';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { ms, positiveInt, table, type Io } from '../format.js';
import { checkJobName } from './history.js';

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
      'how long to wait for the outcomes, in ms',
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
        const secret = opts.secret ?? process.env.SCHED_EXECUTE_SECRET;
        const { messageId, outcomes: replies } = await requestExecution(
          await c.redis(),
          {
            jobName: job,
            routeStrategy: route,
            timeoutMs: opts.timeout,
            ...(opts.node === undefined ? {} : { nodeId: opts.node }),
            ...(opts.params ? { params: opts.params } : {}),
          },
          { expected, requester: 'cli', ...(secret ? { secret } : {}) },
        );
        const outcomes = replies.map((r) => ({
          nodeId: r.nodeId,
          executionId: r.executionId,
          status: r.status,
          durationMs: r.finishedAt.getTime() - r.startedAt.getTime(),
          error: r.error?.message ?? r.skipReason,
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
