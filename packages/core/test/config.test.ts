import { describe, expect, it } from 'vitest';
import { ErrorCode, InvalidConfigError, UnknownJobError, type SkipEvent } from '../src/index.js';
import { T0, recorder, setup } from './helpers.js';

describe('loadFromConfig', () => {
  it('gives a job registered without cfg its schedule from the document', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('report'));
    await sched.loadFromConfig({
      timezone: 'Europe/Berlin',
      jobs: { report: { cronSpec: '0 0 1 * * *', priority: 100, overlapPrevent: true, misfirePolicy: 'delayed' } },
    });
    expect(sched.getJob('report')).toMatchObject({
      cronSpec: '0 0 1 * * *',
      timezone: 'Europe/Berlin',
      priority: 100,
      overlapPrevent: true,
      misfirePolicy: 'delayed',
      source: 'config',
    });
    await sched.start();
    await clock.advance(86_400_000);
    // 01:00 in Berlin is 00:00 UTC in winter.
    expect(runs.map((r) => (r.scheduledAt as number) - T0)).toEqual([86_400_000]);
    await sched.stop();
  });

  it('the document wins field by field over the code cfg; dropping it returns to the code cfg', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('sync'), { cronSpec: '0 * * * * *', priority: 10 });
    await sched.start();
    await sched.loadFromConfig({ jobs: { sync: { cronSpec: '*/10 * * * * *' } } });
    expect(sched.getJob('sync')).toMatchObject({ cronSpec: '*/10 * * * * *', priority: 10, source: 'config' });
    await clock.advance(30_000);
    expect(runs.length).toBe(3);
    await sched.loadFromConfig({ jobs: {} });
    expect(sched.getJob('sync')).toMatchObject({ cronSpec: '0 * * * * *', source: 'code' });
    await clock.advance(60_000);
    expect(runs.length).toBe(4);
    await sched.stop();
  });

  it('can disable and re-enable a job', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('a'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    await sched.loadFromConfig({ jobs: { a: { enabled: false } } });
    expect(sched.getJob('a')).toMatchObject({ enabled: false, nextFireAt: undefined });
    await clock.advance(5_000);
    expect(runs.length).toBe(2);
    await sched.loadFromConfig({ jobs: { a: { enabled: true } } });
    await clock.advance(2_000);
    // No compensation for the disabled instants.
    expect(runs.map((r) => (r.scheduledAt as number) - T0)).toEqual([1_000, 2_000, 8_000, 9_000]);
    await sched.stop();
  });

  it.each([
    [
      'an unknown job',
      { jobs: { ghost: { cronSpec: '* * * * * *' } } },
      UnknownJobError,
      /job "ghost" is in the configuration document but has no registered code/,
    ],
    [
      'an unknown field',
      { jobs: { a: { cronSpec: '* * * * * *', retries: 3 } } },
      InvalidConfigError,
      /jobs\.a: unknown field "retries"/,
    ],
    [
      'a bad cron',
      { jobs: { a: { cronSpec: '0 0 25 * * *' } } },
      InvalidConfigError,
      /jobs\.a\.cronSpec: sched: loadFromConfig: invalid cron spec "0 0 25 \* \* \*"/,
    ],
    ['a wrong type', { jobs: { a: { priority: 'high' } } }, InvalidConfigError, /jobs\.a\.priority/],
    ['an unknown top-level field', { jobz: {} }, InvalidConfigError, /unknown field "jobz"/],
    ['a bad timezone', { timezone: 'Atlantis/Capital', jobs: {} }, InvalidConfigError, /timezone: unknown IANA timezone/],
    ['dependencies without @sched/dag', { jobs: { a: { dependencies: ['b'] } } }, Error, /@sched\/dag/],
  ])('rejects %s and keeps the running config', async (_label, doc, type, message) => {
    const { sched, clock, logger } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('a'), { cronSpec: '* * * * * *' });
    sched.registerJob(job('b'), { cronSpec: '* * * * * *' });
    await sched.start();
    await sched.loadFromConfig({ jobs: { a: { cronSpec: '*/2 * * * * *' } } });
    const before = sched.getJobs();
    const error = await sched.loadFromConfig(doc as never).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(/^sched: loadFromConfig: /);
    expect((error as Error).message).toMatch(message);
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg === (error as Error).message)).toBe(true);
    expect(sched.getJobs()).toEqual(before);
    await clock.advance(4_000);
    expect(runs.filter((r) => r.jobName === 'a').length).toBe(2);
    expect(runs.filter((r) => r.jobName === 'b').length).toBe(4);
    await sched.stop();
  });
});

describe('updateCronSpec', () => {
  it('switches at the change: the new spec applies to instants after it, none twice, none lost', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('j'), { cronSpec: '*/2 * * * * *' });
    await sched.start();
    await clock.advance(4_500);
    await sched.updateCronSpec('j', '* * * * * *');
    await clock.advance(3_000);
    expect(runs.map((r) => (r.scheduledAt as number) - T0)).toEqual([2_000, 4_000, 5_000, 6_000, 7_000]);
    expect(sched.getJob('j')).toMatchObject({ cronSpec: '* * * * * *', source: 'config' });
    expect(sched.getConfigDocument()).toEqual({ jobs: { j: { cronSpec: '* * * * * *' } } });
    await sched.stop();
  });

  it('rejects a bad spec or an unknown job; nothing changes', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('j'), { cronSpec: '* * * * * *' });
    await sched.start();
    await expect(sched.updateCronSpec('j', '* * * * * * * *')).rejects.toMatchObject({ code: ErrorCode.InvalidCron });
    await expect(sched.updateCronSpec('nope', '* * * * * *')).rejects.toMatchObject({ code: ErrorCode.UnknownJob });
    await clock.advance(2_000);
    expect(runs.length).toBe(2);
    expect(sched.getJob('j').cronSpec).toBe('* * * * * *');
    await sched.stop();
  });
});

describe('pause and resume', () => {
  it('a paused job is neither run nor recorded, and not compensated on resume', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    const skips: SkipEvent[] = [];
    sched.on('skip', (e) => skips.push(e));
    sched.registerJob(job('p'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    await sched.pause('p');
    expect(sched.getJob('p').paused).toBe(true);
    await clock.advance(3_000);
    await sched.resume('p');
    await clock.advance(2_000);
    expect(runs.map((r) => (r.scheduledAt as number) - T0)).toEqual([1_000, 2_000, 6_000, 7_000]);
    expect(skips.map((s) => s.reason)).toEqual(['paused', 'paused', 'paused']);
    expect(sched.getJobMetrics('p')).toMatchObject({ skippedCount: 0, misfireCount: 0, executionCount: 4 });
    expect((await sched.snapshotRepository.list({ jobName: 'p' })).items).toHaveLength(4);
    await expect(sched.pause('nope')).rejects.toMatchObject({ code: ErrorCode.UnknownJob });
    await sched.stop();
  });
});
