import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, canRunRedis } from '@sched/testkit';
import { Scenario, until } from './harness.js';

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
  let server: RedisServer;
  let scenario: Scenario | undefined;
  let prefixes = 0;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    await scenario?.stopAll();
    scenario = undefined;
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const make = () =>
    (scenario = new Scenario({ redis: { url: server.url }, keyPrefix: `cfg${++prefixes}`, jobs: 3, cronSpec: '*/2 * * * * *' }));

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
    // Roll back to version 1 (paused): every node follows, the history shows it.
    expect((await s.command('d', 'rollbackConfig', 1)).ok).toBe(true);
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
});
