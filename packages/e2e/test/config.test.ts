import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRunRedis } from '@sched/testkit';
import { redisScenarios, until, type Scenario } from './harness.js';

/** Instants of `job` that started, each checked to have run once; ascending. */
function instantsOnce(s: Scenario, job: string, from: number, to = Number.POSITIVE_INFINITY): number[] {
  const starts = s
    .starts()
    .filter((l) => l.job === job && l.attempt === 1 && (l.scheduledAt as number) > from && (l.scheduledAt as number) <= to);
  const counts = new Map<number, number>();
  for (const l of starts) counts.set(l.scheduledAt as number, (counts.get(l.scheduledAt as number) ?? 0) + 1);
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
  return [...counts.keys()].sort((a, b) => a - b);
}

describe.skipIf(!canRunRedis())('the shared configuration across node processes on Redis', () => {
  const suite = redisScenarios('cfg');
  const make = () => suite.scenario({ jobs: 3, cronSpec: '*/2 * * * * *' });

  it('updateCronSpec on node a (every 2 s → every second): all three nodes switch at one boundary; no instant twice, none lost', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    await until(() => s.starts().filter((l) => l.job === 'job-0').length >= 2, 10_000, 'job-0 firing every 2 s');
    const answer = await s.command('a', 'updateCronSpec', 'job-0', '* * * * * *', { actor: 'e2e' });
    expect(answer.ok).toBe(true);
    const history = (await s.command('b', 'configHistory')).result as Array<{
      version: number;
      updatedAt: number;
      actor?: string;
    }>;
    expect(history[0]).toMatchObject({ version: 1, actor: 'e2e' });
    const changedAt = history[0]?.updatedAt as number;
    for (const id of ['a', 'b', 'c']) {
      expect(((await s.command(id, 'getJob', 'job-0')).result as { cronSpec: string }).cronSpec).toBe('* * * * * *');
    }
    // Six more seconds on the new spec (a wide margin on a loaded machine).
    await until(() => instantsOnce(s, 'job-0', changedAt).length >= 6, 15_000, 'six instants on the new spec');
    const after = instantsOnce(s, 'job-0', changedAt);
    const first = after[0] as number;
    expect(first - changedAt).toBeLessThanOrEqual(1_000);
    // Every second from the first instant after the change, none skipped.
    after.forEach((t, i) => expect(t).toBe(first + i * 1_000));
    expect(instantsOnce(s, 'job-0', 0, changedAt).every((t) => t % 2_000 === 0)).toBe(true);
  });

  it('pause on node b stops the job on all three; resume on node c restarts it; a node started later gets the same config; rollback is followed', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    await until(() => s.starts().filter((l) => l.job === 'job-1').length >= 1, 10_000, 'job-1 firing');
    expect((await s.command('b', 'pause', 'job-1')).ok).toBe(true);
    const pausedAt = Date.now();
    const others = s.starts().filter((l) => l.job === 'job-2').length;
    await until(() => s.starts().filter((l) => l.job === 'job-2').length >= others + 2, 10_000, 'two more instants of job-2');
    // None of job-1 started on any node for an instant after the pause had reached them: the other
    // nodes apply it a pub/sub notice later (milliseconds; 200 ms of margin for a loaded machine).
    expect(s.starts().filter((l) => l.job === 'job-1' && (l.scheduledAt as number) > pausedAt + 200)).toEqual([]);
    expect((await s.command('c', 'resume', 'job-1')).ok).toBe(true);
    const resumedAt = Date.now();
    await until(() => instantsOnce(s, 'job-1', resumedAt).length >= 2, 10_000, 'job-1 firing again');
    // A node started now applies the shared configuration before its first fire.
    await s.start('d');
    const config = (await s.command('d', 'getConfig')).result as { version: number; jobs: Record<string, { source: string }> };
    expect(config.version).toBe(2);
    expect(config.jobs['job-1']?.source).toBe('remote');
    expect(((await s.command('d', 'getJob', 'job-1')).result as { paused: boolean }).paused).toBe(false);
    // Node c is stopped while the configuration changes, and catches up when it starts again.
    await s.stop('c');
    // Roll back to version 1 (paused): every node follows, the history shows it.
    expect((await s.command('d', 'rollbackConfig', 1)).ok).toBe(true);
    await s.start('c');
    for (const id of ['a', 'b', 'c', 'd']) {
      await until(
        async () => ((await s.command(id, 'getJob', 'job-1')).result as { paused: boolean }).paused,
        5_000,
        `node ${id} to follow the rollback`,
      );
    }
    const history = (await s.command('a', 'configHistory')).result as Array<{ version: number; reason?: string; nodeId: string }>;
    expect(history.map((h) => h.version)).toEqual([3, 2, 1]);
    expect(history[0]).toMatchObject({ reason: 'rollback to version 1', nodeId: 'd' });
  });

  it('loadFromConfig on one node adds, changes and removes schedules on every node', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    const doc = { jobs: { 'job-0': { cronSpec: '*/5 * * * * *', priority: 90 }, 'job-2': { enabled: false } } };
    expect((await s.command('a', 'loadFromConfig', doc)).ok).toBe(true);
    for (const id of ['a', 'b', 'c']) {
      await until(
        async () => ((await s.command(id, 'getConfig')).result as { version: number }).version === 1,
        5_000,
        `node ${id} to apply version 1`,
      );
      expect((await s.command(id, 'getJob', 'job-0')).result).toMatchObject({ cronSpec: '*/5 * * * * *', priority: 90 });
      expect((await s.command(id, 'getJob', 'job-2')).result).toMatchObject({ enabled: false });
    }
    // A new document without job-2 and with job-1 changed: job-2 is back on its code schedule everywhere.
    expect((await s.command('b', 'loadFromConfig', { jobs: { 'job-1': { cronSpec: '*/4 * * * * *' } } })).ok).toBe(true);
    for (const id of ['a', 'b', 'c']) {
      await until(
        async () => ((await s.command(id, 'getConfig')).result as { version: number }).version === 2,
        5_000,
        `node ${id} to apply version 2`,
      );
      expect((await s.command(id, 'getJob', 'job-0')).result).toMatchObject({ cronSpec: '*/2 * * * * *', priority: 50 });
      expect((await s.command(id, 'getJob', 'job-1')).result).toMatchObject({ cronSpec: '*/4 * * * * *' });
      expect((await s.command(id, 'getJob', 'job-2')).result).toMatchObject({ enabled: true });
    }
    const history = (await s.command('c', 'configHistory')).result as Array<{ version: number; diff: Array<{ path: string }> }>;
    expect(history[0]?.diff.map((d) => d.path)).toEqual(['jobs.job-0', 'jobs.job-1', 'jobs.job-2']);
  });

  it('two nodes changing at once: one wins by version, the other gets a conflict error; all nodes converge', async () => {
    const s = make();
    await Promise.all(['a', 'b', 'c'].map((id) => s.start(id)));
    let conflicts = 0;
    // Sent to both nodes in the same tick; a round where one node had already applied the other's change
    // before checking its own has no conflict (both land, one after the other), so up to five rounds.
    for (let round = 0; round < 5 && conflicts === 0; round++) {
      const [x, y] = await Promise.all([
        s.command('a', 'updateCronSpec', 'job-0', `${round} * * * * *`),
        s.command('b', 'updateCronSpec', 'job-0', `${round + 30} * * * * *`),
      ]);
      const failed = [x, y].filter((r) => !r.ok);
      for (const f of failed)
        expect(f).toMatchObject({
          code: 'SCHED_CONFIG_CONFLICT',
          message: expect.stringMatching(/expected version \d+, found \d+/),
        });
      conflicts += failed.length;
      expect(failed.length).toBeLessThanOrEqual(1);
      // Every node ends on the same version and spec (the stored one).
      const stored = (
        (await s.command('c', 'configHistory', 1)).result as Array<{
          version: number;
          document: { jobs: Record<string, { cronSpec?: string }> };
        }>
      )[0];
      for (const id of ['a', 'b', 'c']) {
        await until(
          async () => ((await s.command(id, 'getConfig')).result as { version: number }).version === stored?.version,
          5_000,
          `node ${id} to converge`,
        );
        expect(((await s.command(id, 'getJob', 'job-0')).result as { cronSpec: string }).cronSpec).toBe(
          stored?.document.jobs['job-0']?.cronSpec,
        );
      }
    }
    expect(conflicts).toBe(1);
  });

  it('bad changes are typed errors naming the place, and the running config is unchanged everywhere', async () => {
    const s = make();
    await Promise.all(['a', 'b'].map((id) => s.start(id)));
    const badCron = await s.command('a', 'updateCronSpec', 'job-0', '61 * * * * *');
    expect(badCron).toMatchObject({ ok: false, code: 'SCHED_INVALID_CRON' });
    const ghost = await s.command('a', 'loadFromConfig', { jobs: { ghost: { cronSpec: '0 * * * * *' } } });
    expect(ghost).toMatchObject({ ok: false, code: 'SCHED_UNKNOWN_JOB', message: expect.stringMatching(/ghost/) });
    const field = await s.command('b', 'loadFromConfig', { jobs: { 'job-0': { colour: 'blue' } } });
    expect(field).toMatchObject({
      ok: false,
      code: 'SCHED_INVALID_CONFIG',
      message: expect.stringMatching(/jobs\.job-0.*colour/),
    });
    for (const id of ['a', 'b']) {
      expect((await s.command(id, 'getConfig')).result).toMatchObject({ version: 0 });
      expect(((await s.command(id, 'getJob', 'job-0')).result as { cronSpec: string }).cronSpec).toBe('*/2 * * * * *');
    }
  });

  it('the four load strategies: a node with a conflicting local file ends with the documented effective config', async () => {
    const s = make();
    await s.start('a');
    // The shared document: job-0 every 3 s in Paris.
    const shared = await s.command('a', 'loadFromConfig', {
      timezone: 'Europe/Paris',
      jobs: { 'job-0': { cronSpec: '*/3 * * * * *', priority: 3 } },
    });
    expect(shared.ok).toBe(true);
    // Each node's local file: job-0 every 5 s in Tokyo, and job-1 with priority 7.
    const file = join(s.dir, 'local.yaml');
    writeFileSync(
      file,
      'timezone: Asia/Tokyo\njobs:\n  job-0:\n    cronSpec: "*/5 * * * * *"\n    priority: 5\n  job-1:\n    priority: 7\n',
    );
    const strategies = ['local-first', 'remote-first', 'remote-only', 'local-only'] as const;
    await Promise.all(strategies.map((strategy) => s.start(strategy, { configLoadStrategy: strategy, localConfigFile: file })));
    const expected = {
      'local-first': { job0: ['*/5 * * * * *', 'Asia/Tokyo', 5, 'local'], job1: [7, 'local'] },
      'remote-first': { job0: ['*/3 * * * * *', 'Europe/Paris', 3, 'remote'], job1: [7, 'local'] },
      'remote-only': { job0: ['*/3 * * * * *', 'Europe/Paris', 3, 'remote'], job1: [50, 'code'] },
      'local-only': { job0: ['*/5 * * * * *', 'Asia/Tokyo', 5, 'local'], job1: [7, 'local'] },
    };
    for (const strategy of strategies) {
      const job0 = (await s.command(strategy, 'getJob', 'job-0')).result as {
        cronSpec: string;
        timezone: string;
        priority: number;
      };
      const job1 = (await s.command(strategy, 'getJob', 'job-1')).result as { priority: number };
      const sources = ((await s.command(strategy, 'getConfig')).result as { jobs: Record<string, { source: string }> }).jobs;
      expect([job0.cronSpec, job0.timezone, job0.priority, sources['job-0']?.source], strategy).toEqual(expected[strategy].job0);
      expect([job1.priority, sources['job-1']?.source], strategy).toEqual(expected[strategy].job1);
    }
    // The node without a local file runs the shared document.
    expect(((await s.command('a', 'getJob', 'job-0')).result as { cronSpec: string }).cronSpec).toBe('*/3 * * * * *');
  });
});
