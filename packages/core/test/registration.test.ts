import { describe, expect, it } from 'vitest';
import {
  DuplicateJobError,
  ErrorCode,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidCronError,
  MissingPackageError,
  Scheduler,
  isSchedError,
  type TaskCfg,
} from '../src/index.js';
import { recorder, setup } from './helpers.js';

const noop = { name: 'noop', execute: () => {} };

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('registerJob rejects bad input with a typed error and keeps the scheduler running', () => {
  const cases: Array<[string, () => [object, TaskCfg | undefined], string, RegExp]> = [
    ['invalid cron', () => [noop, { cronSpec: '61 * * * * *' }], ErrorCode.InvalidCron, /invalid cron spec "61 \* \* \* \* \*"/],
    [
      'unknown field',
      () => [noop, { cronSpec: '* * * * * *', priorty: 3 } as TaskCfg],
      ErrorCode.InvalidConfig,
      /unknown field "priorty"/,
    ],
    ['negative timeout', () => [noop, { cronSpec: '* * * * * *', timeoutMs: -1 }], ErrorCode.InvalidConfig, /timeoutMs/],
    ['fractional priority', () => [noop, { priority: 1.5 }], ErrorCode.InvalidConfig, /priority/],
    ['string priority', () => [noop, { priority: '9' } as unknown as TaskCfg], ErrorCode.InvalidConfig, /priority/],
    ['retry attempts 0', () => [noop, { retry: { attempts: 0 } }], ErrorCode.InvalidConfig, /retry\.attempts/],
    [
      'breaker without reset',
      () => [noop, { circuitBreaker: { maxFailures: 3 } } as TaskCfg],
      ErrorCode.InvalidConfig,
      /circuitBreaker\.resetTimeoutMs/,
    ],
    [
      'unknown misfire policy',
      () => [noop, { misfirePolicy: 'later' } as unknown as TaskCfg],
      ErrorCode.InvalidConfig,
      /misfirePolicy/,
    ],
    [
      'bad timezone',
      () => [noop, { cronSpec: '* * * * * *', timezone: 'Nowhere/Land' }],
      ErrorCode.InvalidConfig,
      /unknown IANA timezone/,
    ],
    ['dependencies without @sched/dag', () => [noop, { dependencies: ['a'] }], ErrorCode.MissingPackage, /@sched\/dag/],
    [
      'sharding without @sched/sharding',
      () => [noop, { shardingEnabled: true, shardingTotal: 3 }],
      ErrorCode.MissingPackage,
      /@sched\/sharding/,
    ],
    ['shardingTotal 0', () => [noop, { shardingEnabled: true, shardingTotal: 0 }], ErrorCode.InvalidConfig, /shardingTotal/],
    ['shardingTotal without shardingEnabled', () => [noop, { shardingTotal: 4 }], ErrorCode.InvalidConfig, /shardingEnabled/],
    ['self dependency', () => [noop, { dependencies: ['noop'] }], ErrorCode.InvalidConfig, /depends on itself/],
    ['no execute', () => [{ name: 'x' }, undefined], ErrorCode.InvalidArgument, /needs an execute\(ctx\) method/],
    ['bad name', () => [{ name: 'has space', execute() {} }, undefined], ErrorCode.InvalidArgument, /invalid job name/],
    ['not an object', () => [null as unknown as object, undefined], ErrorCode.InvalidArgument, /a job must be an object/],
  ];

  it.each(cases)('%s', async (_label, make, code, message) => {
    const { sched, clock, logger } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('steady'), { cronSpec: '* * * * * *' });
    await sched.start();
    const [badJob, cfg] = make();
    const error = thrown(() => sched.registerJob(badJob as never, cfg));
    expect(isSchedError(error, code as never)).toBe(true);
    expect(error.message).toMatch(/^sched: registerJob: /);
    expect(error.message).toMatch(message);
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg === error.message)).toBe(true);
    // Nothing was registered, and the scheduler goes on firing.
    expect(sched.getJobs().map((j) => j.jobName)).toEqual(['steady']);
    await clock.advance(2_000);
    expect(runs.length).toBe(2);
    await sched.stop();
  });

  it('duplicate name', () => {
    const { sched } = setup();
    sched.registerJob(noop, { cronSpec: '* * * * * *' });
    const error = thrown(() => sched.registerJob({ ...noop }, { cronSpec: '0 * * * * *' }));
    expect(error).toBeInstanceOf(DuplicateJobError);
    expect(error.message).toBe('sched: registerJob: job "noop" is already registered');
    expect(sched.getJob('noop').cronSpec).toBe('* * * * * *');
  });

  it('error classes carry name, code and cause', () => {
    const { sched } = setup();
    const cron = thrown(() => sched.registerJob(noop, { cronSpec: '0 61 * * * *' }));
    expect(cron).toBeInstanceOf(InvalidCronError);
    expect(cron.name).toBe('InvalidCronError');
    expect(cron.cause).toBeInstanceOf(Error);
    const cfg = thrown(() => sched.registerJob(noop, { enabled: 'yes' } as unknown as TaskCfg));
    expect(cfg).toBeInstanceOf(InvalidConfigError);
    expect((cfg as InvalidConfigError).issues).toEqual([{ path: 'enabled', message: expect.any(String) }]);
    expect(thrown(() => sched.registerJob(noop, { dependencies: ['a'] }))).toBeInstanceOf(MissingPackageError);
  });

  it('isSchedError works on plain objects carrying a code (another package copy)', () => {
    expect(isSchedError({ code: 'SCHED_INVALID_CRON' }, ErrorCode.InvalidCron)).toBe(true);
    expect(isSchedError({ code: 'ENOENT' })).toBe(false);
    expect(isSchedError(new Error('x'))).toBe(false);
  });

  it('registration order is free: a job may be registered before or after start', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('before'), { cronSpec: '*/2 * * * * *' });
    await sched.start();
    sched.registerJob(job('after'), { cronSpec: '*/2 * * * * *' });
    await clock.advance(4_000);
    expect(runs.map((r) => r.jobName).sort()).toEqual(['after', 'after', 'before', 'before']);
    await sched.stop();
  });

  it('unregisterJob stops the schedule; unknown names are typed errors', async () => {
    const { sched, clock } = setup();
    const { runs, job } = recorder(clock);
    sched.registerJob(job('a'), { cronSpec: '* * * * * *' });
    await sched.start();
    await clock.advance(2_000);
    sched.unregisterJob('a');
    await clock.advance(5_000);
    expect(runs.length).toBe(2);
    expect(
      isSchedError(
        thrown(() => sched.unregisterJob('a')),
        ErrorCode.UnknownJob,
      ),
    ).toBe(true);
    await sched.stop();
  });
});

describe('scheduler options are validated at construction', () => {
  it.each([
    [{ maxConcurrency: 0 }, /maxConcurrency/],
    [{ maxConcurrency: 2.5 }, /maxConcurrency/],
    [{ leaseTtlMs: 1000, leaseRenewMs: 1000 }, /leaseRenewMs/],
    [{ timezone: 'Bad/Zone' }, /timezone/],
    [{ configLoadStrategy: 'mine-first' }, /configLoadStrategy/],
    [{ maxConcurent: 3 }, /unknown field "maxConcurent"/],
  ])('%j', (options, message) => {
    const error = thrown(() => new Scheduler(options as never));
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toMatch(/^sched: new Scheduler: /);
    expect(error.message).toMatch(message);
  });

  it('ports are checked for their methods', () => {
    const error = thrown(() => new Scheduler({ clock: { now: () => 0 } as never }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toContain('option `clock` lacks `setTimer`, `clearTimer`');
  });
});
