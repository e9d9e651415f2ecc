import { z } from 'zod';
import {
  diffDocuments,
  executionStatuses,
  jobNameSchema,
  RouteStrategy,
  type ConfigDocument,
  type ExecutionSnapshot,
  type NodeInfo,
  type TaskCfg,
} from '@sched/core';
import { editSharedConfig } from '@sched/config';
import { parseDependentFire, readDagRun } from '@sched/dag';
import { HttpError } from './http.js';
import type { ConsoleSource } from './source.js';
import { jobsView, nodesView } from './views.js';

/** What a route handler gets: the source, the path's parameters, the query, the body and who asks. */
export interface RouteContext {
  source: ConsoleSource;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Who is recorded in the config history for a change. */
  actor: string;
  now: number;
}

export interface Route {
  method: 'GET' | 'POST';
  /** `/api/jobs/:name` style; each `:param` matches one path segment. */
  path: string;
  handle(ctx: RouteContext): Promise<unknown>;
}

// ─── input checks (a 400 names the field) ────────────────────────────────────

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new HttpError(400, 'BAD_REQUEST', `${where}: ${path}${issue?.message ?? 'invalid'}`);
}

/** A time as epoch ms or an ISO 8601 date. */
const time = z.string().transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `not a time (epoch ms or ISO 8601): "${text}"` });
    return z.NEVER;
  }
  return ms;
});
const intIn = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

const historyQuery = z.object({
  status: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(executionStatuses as [string, ...string[]])))
    .optional(),
  nodeId: z.string().min(1).max(200).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: intIn(1, 1_000).optional(),
  cursor: z.string().min(1).max(1_000).optional(),
});

const statsQuery = z.object({
  from: time.optional(),
  to: time.optional(),
  buckets: intIn(1, 120).optional(),
});

const triggerBody = z
  .object({
    routeStrategy: z.enum(Object.values(RouteStrategy) as [string, ...string[]]).optional(),
    nodeId: z.string().min(1).max(200).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();

const cronBody = z.object({ cronSpec: z.string().min(1).max(200), timezone: z.string().min(1).max(100).optional() }).strict();
const rollbackBody = z.object({ version: z.number().int().positive() }).strict();

function pageQuery(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries(query.entries());
}

function jobName(params: Record<string, string>): string {
  return parse(jobNameSchema, params.name, 'job name');
}

const unknownJob = (name: string) =>
  new HttpError(404, 'UNKNOWN_JOB', `job "${name}" is not served by any live node nor named in the shared configuration`);

/** A job the cluster knows (a live node serves it, the shared document names it, or this node has it), with the live nodes read for it; else 404. */
async function knownJob(ctx: RouteContext): Promise<{ name: string; nodes: NodeInfo[] }> {
  const name = jobName(ctx.params);
  const [nodes, current] = await Promise.all([ctx.source.nodes(), ctx.source.configStore.get()]);
  const known =
    ctx.source.localJobs().some((j) => j.jobName === name) ||
    nodes.some((n) => n.jobs.includes(name)) ||
    current?.document.jobs[name] !== undefined;
  if (!known) throw unknownJob(name);
  return { name, nodes };
}

/** One job's fields changed in the shared configuration (every node follows), recorded with who did it. */
async function changeJob(ctx: RouteContext, name: string, fields: Partial<TaskCfg>, reason: string) {
  const saved = await editSharedConfig(
    ctx.source.configStore,
    (doc: ConfigDocument) => {
      const job: Record<string, unknown> = { ...doc.jobs[name], ...fields };
      for (const [k, v] of Object.entries(fields)) if (v === undefined) delete job[k];
      doc.jobs[name] = job;
      return doc;
    },
    { api: reason, meta: { nodeId: 'console', actor: ctx.actor, reason } },
  );
  ctx.source.logger.info('console: shared configuration changed', { version: saved.version, actor: ctx.actor, reason });
  return { version: saved.version, updatedAt: saved.updatedAt };
}

const EVERY_NODE = new Set(['broadcast', 'sharding']);

// ─── routes ──────────────────────────────────────────────────────────────────

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/api/nodes',
    handle: (ctx) => nodesView(ctx.source, ctx.now),
  },
  {
    method: 'GET',
    path: '/api/jobs',
    handle: async (ctx) => ({ jobs: await jobsView(ctx.source, ctx.now) }),
  },
  {
    method: 'GET',
    path: '/api/jobs/:name',
    async handle(ctx) {
      // The jobs view lists exactly the jobs the cluster knows: no separate existence check.
      const name = jobName(ctx.params);
      const job = (await jobsView(ctx.source, ctx.now, 10)).find((j) => j.jobName === name);
      if (!job) throw unknownJob(name);
      return job;
    },
  },
  {
    method: 'POST',
    path: '/api/jobs/:name/pause',
    handle: async (ctx) => changeJob(ctx, (await knownJob(ctx)).name, { paused: true }, `pause ${ctx.params.name}`),
  },
  {
    method: 'POST',
    path: '/api/jobs/:name/resume',
    // As the nodes' resume(): the shared layer's `paused` goes, the code's cfg applies again.
    handle: async (ctx) => changeJob(ctx, (await knownJob(ctx)).name, { paused: undefined }, `resume ${ctx.params.name}`),
  },
  {
    method: 'POST',
    path: '/api/jobs/:name/cron',
    async handle(ctx) {
      const { name } = await knownJob(ctx);
      const body = parse(cronBody, ctx.body, 'cron');
      const fields: Partial<TaskCfg> = { cronSpec: body.cronSpec };
      if (body.timezone !== undefined) fields.timezone = body.timezone;
      return changeJob(ctx, name, fields, `cron of ${name} to "${body.cronSpec}"`);
    },
  },
  {
    method: 'POST',
    path: '/api/jobs/:name/trigger',
    async handle(ctx) {
      const { name, nodes } = await knownJob(ctx);
      const body = parse(triggerBody, ctx.body, 'trigger');
      const route = body.nodeId !== undefined ? 'specific' : (body.routeStrategy ?? 'first');
      if (route === 'specific' && body.nodeId === undefined) {
        throw new HttpError(400, 'BAD_REQUEST', "trigger: routeStrategy 'specific' needs nodeId");
      }
      if (body.routeStrategy !== undefined && body.nodeId !== undefined && body.routeStrategy !== 'specific') {
        throw new HttpError(
          400,
          'BAD_REQUEST',
          `trigger: nodeId goes with routeStrategy 'specific', not '${body.routeStrategy}'`,
        );
      }
      const serving = nodes.filter((n) => n.jobs.includes(name)).map((n) => n.nodeId);
      if (serving.length === 0 && !ctx.source.localJobs().some((j) => j.jobName === name)) {
        throw new HttpError(409, 'NO_NODE', `no live node serves job "${name}"`);
      }
      if (body.nodeId !== undefined && !serving.includes(body.nodeId)) {
        throw new HttpError(409, 'NO_NODE', `node "${body.nodeId}" is not live or does not serve "${name}"`);
      }
      const expected = EVERY_NODE.has(route) ? Math.max(1, serving.length) : 1;
      ctx.source.logger.info('console: trigger', { job: name, route, actor: ctx.actor });
      return ctx.source.execute(
        {
          jobName: name,
          routeStrategy: route as RouteStrategy,
          timeoutMs: body.timeoutMs ?? 30_000,
          ...(body.nodeId === undefined ? {} : { nodeId: body.nodeId }),
          ...(body.params === undefined ? {} : { params: body.params }),
        },
        expected,
      );
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/:name/history',
    async handle(ctx) {
      const name = jobName(ctx.params);
      const q = parse(historyQuery, pageQuery(ctx.query), 'history');
      return ctx.source.snapshots.list({
        jobName: name,
        limit: q.limit ?? 50,
        ...(q.status?.length ? { status: q.status as ExecutionSnapshot['status'][] } : {}),
        ...(q.nodeId ? { nodeId: q.nodeId } : {}),
        ...(q.from === undefined ? {} : { startTime: q.from }),
        ...(q.to === undefined ? {} : { endTime: q.to }),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/:name/stats',
    async handle(ctx) {
      const name = jobName(ctx.params);
      const q = parse(statsQuery, pageQuery(ctx.query), 'stats');
      const to = q.to ?? ctx.now;
      const from = q.from ?? to - 3_600_000;
      if (from >= to) throw new HttpError(400, 'BAD_REQUEST', 'stats: from must be before to');
      const n = q.buckets ?? 24;
      const step = Math.ceil((to - from) / n);
      const starts = Array.from({ length: n }, (_, i) => from + i * step);
      const [total, ...buckets] = await Promise.all([
        ctx.source.snapshots.getStatistics(name, from, to),
        ...starts.map((s) => ctx.source.snapshots.getStatistics(name, s, Math.min(s + step, to))),
      ]);
      return {
        jobName: name,
        from,
        to,
        total,
        buckets: buckets.map((b, i) => ({ start: starts[i], ...b })),
      };
    },
  },
  {
    method: 'GET',
    path: '/api/executions/:id',
    async handle(ctx) {
      const id = parse(z.string().min(1).max(300), ctx.params.id, 'execution id');
      const snapshot = await ctx.source.snapshots.get(id);
      if (!snapshot) throw new HttpError(404, 'UNKNOWN_EXECUTION', `no execution "${id}" in the history`);
      return snapshot;
    },
  },
  {
    method: 'GET',
    path: '/api/misfires',
    async handle(ctx) {
      const q = parse(
        historyQuery.pick({ limit: true, cursor: true }).extend({ job: jobNameSchema.optional() }),
        pageQuery(ctx.query),
        'misfires',
      );
      return ctx.source.snapshots.list({
        status: 'misfired',
        limit: q.limit ?? 50,
        ...(q.job ? { jobName: q.job } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  },
  {
    method: 'GET',
    path: '/api/dag-runs',
    async handle(ctx) {
      const q = parse(historyQuery.pick({ limit: true }), pageQuery(ctx.query), 'dag-runs');
      // Runs are found through their dependents' executions (a dependent's fire id names its run).
      const recent = await ctx.source.snapshots.list({ limit: 1_000 });
      const runs = new Map<string, { runId: string; lastStartedAt: number; jobs: string[] }>();
      for (const s of recent.items) {
        const dep = parseDependentFire(s.fireId);
        if (!dep) continue;
        const run = runs.get(dep.runId) ?? { runId: dep.runId, lastStartedAt: 0, jobs: [] };
        run.lastStartedAt = Math.max(run.lastStartedAt, s.startedAt);
        if (!run.jobs.includes(s.jobName)) run.jobs.push(s.jobName);
        runs.set(dep.runId, run);
      }
      const sorted = [...runs.values()].sort((a, b) => b.lastStartedAt - a.lastStartedAt).slice(0, q.limit ?? 50);
      return { runs: sorted };
    },
  },
  {
    method: 'GET',
    path: '/api/dag-runs/:runId',
    async handle(ctx) {
      const runId = parse(z.string().min(1).max(500), ctx.params.runId, 'run id');
      const run = await readDagRun(ctx.source.stateStore, runId);
      if (!run) throw new HttpError(404, 'UNKNOWN_RUN', `no DAG run "${runId}" (unknown, or older than the runs' retention)`);
      return run;
    },
  },
  {
    method: 'GET',
    path: '/api/config',
    handle: async (ctx) => ({ config: await ctx.source.configStore.get() }),
  },
  {
    method: 'GET',
    path: '/api/config/history',
    async handle(ctx) {
      const q = parse(historyQuery.pick({ limit: true }), pageQuery(ctx.query), 'config history');
      const limit = q.limit ?? 50;
      const versions = await ctx.source.configStore.history(limit + 1);
      return {
        versions: versions.slice(0, limit).map((v, i) => ({ ...v, diff: diffDocuments(versions[i + 1]?.document, v.document) })),
      };
    },
  },
  {
    method: 'POST',
    path: '/api/config/rollback',
    async handle(ctx) {
      const { version } = parse(rollbackBody, ctx.body, 'rollback');
      const target = (await ctx.source.configStore.history(1_000)).find((v) => v.version === version);
      if (!target) throw new HttpError(404, 'UNKNOWN_VERSION', `version ${version} is not in the configuration history`);
      const reason = `rollback to version ${version}`;
      const saved = await editSharedConfig(ctx.source.configStore, () => structuredClone(target.document), {
        api: reason,
        meta: { nodeId: 'console', actor: ctx.actor, reason },
      });
      ctx.source.logger.info('console: shared configuration rolled back', {
        version: saved.version,
        to: version,
        actor: ctx.actor,
      });
      return { version: saved.version, updatedAt: saved.updatedAt };
    },
  },
];
