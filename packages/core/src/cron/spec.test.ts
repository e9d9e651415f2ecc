import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CronExpressionParser } from 'cron-parser';
import { compileCron, normalizeCronSpec } from './spec.js';
import { describeInstant } from './preview.js';
import { previewCron } from './index.js';
import { ErrorCode, InvalidCronError, isSchedError } from '../errors.js';
import { instantsBetween } from '../engine/missed.js';
import { Zone } from './zone.js';

const at = (s: string): number => new Date(s).getTime();
const isoOf = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

describe('compileCron', () => {
  it.each([
    [
      '6 fields, seconds first',
      '*/15 * * * * *',
      '2025-01-01T00:00:00Z',
      ['2025-01-01T00:00:15.000Z', '2025-01-01T00:00:30.000Z'],
    ],
    ['5 fields, minute first', '*/5 * * * *', '2025-01-01T00:00:00Z', ['2025-01-01T00:05:00.000Z', '2025-01-01T00:10:00.000Z']],
    ['@hourly', '@hourly', '2025-01-01T00:30:00Z', ['2025-01-01T01:00:00.000Z', '2025-01-01T02:00:00.000Z']],
    ['@daily', '@daily', '2025-01-01T00:00:00Z', ['2025-01-02T00:00:00.000Z', '2025-01-03T00:00:00.000Z']],
    ['seed: 01:00 daily', '0 0 1 * * *', '2025-01-01T02:00:00Z', ['2025-01-02T01:00:00.000Z', '2025-01-03T01:00:00.000Z']],
    ['extra whitespace', '  0   0  1 * * *  ', '2025-01-01T02:00:00Z', ['2025-01-02T01:00:00.000Z', '2025-01-03T01:00:00.000Z']],
  ])('%s', (_label, spec, from, expected) => {
    expect(compileCron(spec).take(at(from), 2).map(isoOf)).toEqual(expected);
  });

  it('next is strictly after and prev strictly before, also off the second', () => {
    const spec = compileCron('*/10 * * * * *');
    expect(isoOf(spec.next(at('2025-01-01T00:00:10Z')))).toBe('2025-01-01T00:00:20.000Z');
    expect(isoOf(spec.next(at('2025-01-01T00:00:09.999Z')))).toBe('2025-01-01T00:00:10.000Z');
    expect(isoOf(spec.prev(at('2025-01-01T00:00:10Z')))).toBe('2025-01-01T00:00:00.000Z');
    expect(isoOf(spec.prev(at('2025-01-01T00:00:10.500Z')))).toBe('2025-01-01T00:00:10.000Z');
  });

  it('caches one compiled spec per (spec, timezone)', () => {
    expect(compileCron('0 0 3 * * *', 'UTC')).toBe(compileCron('0  0 3 * * *', 'UTC'));
    expect(compileCron('0 0 3 * * *', 'UTC')).not.toBe(compileCron('0 0 3 * * *', 'Europe/Berlin'));
    expect(normalizeCronSpec(' a  b ')).toBe('a b');
  });

  it('next and prev agree with cron-parser on random specs and zones (property)', () => {
    const field = (min: number, max: number) =>
      fc.oneof(
        fc.constant('*'),
        fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((k) => `*/${k}`),
        fc.integer({ min, max }).map(String),
        fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
        fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((xs) => xs.join(',')),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 2, max: 5 }))
          .map(([a, b, k]) => `${Math.min(a, b)}-${Math.max(a, b)}/${k}`),
      );
    const specArb = fc
      .tuple(field(0, 59), field(0, 59), field(0, 23), field(1, 28), field(1, 12), field(0, 6))
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(
        specArb,
        fc.constantFrom('UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe'),
        fc.array(fc.integer({ min: at('2024-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z') }), {
          minLength: 1,
          maxLength: 8,
        }),
        (source, tz, afters) => {
          let spec: ReturnType<typeof compileCron>;
          try {
            spec = compileCron(source, tz);
          } catch {
            return; // a combination that never fires
          }
          const allHours = CronExpressionParser.parse(source, { tz }).fields.hour.values.length === 24;
          for (const after of afters) {
            const parser = CronExpressionParser.parse(source, { tz, currentDate: new Date(after) });
            let expectedNext: number | undefined;
            try {
              expectedNext = parser.next().getTime();
            } catch {
              expectedNext = undefined;
            }
            // Our fall-back rule may skip cron-parser's answer inside a repeated hour; compare elsewhere.
            if (expectedNext !== undefined && !allHours && Zone.get(tz).isRepeatedWallTime(expectedNext)) continue;
            if (!allHours && Zone.get(tz).isRepeatedWallTime(after)) continue;
            expect(spec.next(after), `next(${source} @ ${tz} after ${isoOf(after)})`).toBe(expectedNext);
            const back = CronExpressionParser.parse(source, { tz, currentDate: new Date(after) });
            let expectedPrev: number | undefined;
            try {
              expectedPrev = back.prev().getTime();
            } catch {
              expectedPrev = undefined;
            }
            if (expectedPrev !== undefined && !allHours && Zone.get(tz).isRepeatedWallTime(expectedPrev)) continue;
            expect(spec.prev(after), `prev(${source} @ ${tz} before ${isoOf(after)})`).toBe(expectedPrev);
          }
        },
      ),
      { numRuns: Number(process.env.CRON_PROPERTY_RUNS ?? 300) },
    );
  }, 60_000); // ~5 s alone; cron-parser is slow on some random specs and a loaded 2-core CI run took over 20 s

  it('is fast where cron-parser is slow: rare specs far apart', () => {
    // A spec that matches once a year: cron-parser walks day by day; the calendar tables jump.
    const spec = compileCron('0 1 0,5 1,17 1,9 *');
    const from = at('2025-01-17T05:01:00Z');
    expect(isoOf(spec.next(from))).toBe('2025-09-01T00:01:00.000Z');
    expect(isoOf(spec.prev(at('2025-09-01T00:01:00Z')))).toBe('2025-01-17T05:01:00.000Z');
  });

  it.each([
    ['61 * * * * *', 'Constraint error'],
    ['* * * * * * *', '5 or 6 fields'],
    ['* * * *', '5 or 6 fields'],
    ['foo', 'cannot resolve alias'],
    ['@sometimes', 'sometimes'],
    ['', 'empty'],
    ['0 0 0 30 2 *', 'day of month'],
    ['0 0 0 31 4 *', 'day of month'],
  ])('rejects %j with InvalidCronError', (spec, reason) => {
    let caught: unknown;
    try {
      compileCron(spec, 'UTC', 'registerJob');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCronError);
    expect(isSchedError(caught, ErrorCode.InvalidCron)).toBe(true);
    const err = caught as InvalidCronError;
    expect(err.message).toMatch(/^sched: registerJob: invalid cron spec/);
    expect(err.message.toLowerCase()).toContain(reason.toLowerCase());
  });

  it('keeps the parser message as cause', () => {
    try {
      compileCron('61 * * * * *');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(((error as Error).cause as Error).message).toContain('got value 61');
    }
  });

  it('rejects an unknown timezone', () => {
    expect(() => compileCron('* * * * * *', 'Mars/Olympus')).toThrowError(/unknown timezone "Mars\/Olympus"/);
  });
});

describe('DST rule (America/New_York, 2025)', () => {
  const NY = 'America/New_York';

  it('spring forward: a wall time that does not exist fires once, shifted past the gap', () => {
    const spec = compileCron('0 30 2 * * *', NY);
    const fires = spec.take(at('2025-03-08T12:00:00Z'), 3).map((t) => describeInstant(spec, t));
    expect(fires.map((f) => f.local)).toEqual([
      '2025-03-09T03:30:00-04:00',
      '2025-03-10T02:30:00-04:00',
      '2025-03-11T02:30:00-04:00',
    ]);
    expect(fires.map((f) => f.dst)).toEqual(['shifted', undefined, undefined]);
  });

  it('spring forward: a shifted time that the spec also names fires once', () => {
    const spec = compileCron('0 30 2,3 * * *', NY);
    const day = spec.take(at('2025-03-09T05:00:00Z'), 2).map((t) => describeInstant(spec, t).local);
    expect(day).toEqual(['2025-03-09T03:30:00-04:00', '2025-03-10T02:30:00-04:00']);
  });

  it('fall back: a fixed hour fires once, at the first occurrence', () => {
    const spec = compileCron('0 30 1 * * *', NY);
    const fires = spec.take(at('2025-11-01T12:00:00Z'), 2).map((t) => describeInstant(spec, t));
    expect(fires.map((f) => f.local)).toEqual(['2025-11-02T01:30:00-04:00', '2025-11-03T01:30:00-05:00']);
    expect(fires.every((f) => f.dst === undefined)).toBe(true);
  });

  it('fall back: an every-hour spec fires at both real 01:00s, the second marked repeated', () => {
    const spec = compileCron('0 0 * * * *', NY);
    const fires = spec.take(at('2025-11-02T03:30:00Z'), 4).map((t) => describeInstant(spec, t));
    expect(fires.map((f) => f.local)).toEqual([
      '2025-11-02T00:00:00-04:00',
      '2025-11-02T01:00:00-04:00',
      '2025-11-02T01:00:00-05:00',
      '2025-11-02T02:00:00-05:00',
    ]);
    expect(fires.map((f) => f.dst)).toEqual([undefined, undefined, 'repeated', undefined]);
    // Real instants one hour apart: nothing doubled, nothing dropped.
    const gaps = fires.slice(1).map((f, i) => f.scheduledAt.getTime() - (fires[i] as typeof f).scheduledAt.getTime());
    expect(gaps).toEqual([3_600_000, 3_600_000, 3_600_000]);
  });

  it('fall back: asked from inside the repeated hour, a fixed-hour spec does not fire at the second 01:30', () => {
    const spec = compileCron('0 30 1 * * *', NY);
    // 01:10 EST, after clocks went back: the next 01:30 is tomorrow's.
    expect(describeInstant(spec, spec.next(at('2025-11-02T06:10:00Z')) as number).local).toBe('2025-11-03T01:30:00-05:00');
    // An every-hour spec does fire in the second occurrence.
    const hourly = compileCron('0 30 * * * *', NY);
    expect(describeInstant(hourly, hourly.next(at('2025-11-02T06:10:00Z')) as number).local).toBe('2025-11-02T01:30:00-05:00');
  });

  it('Europe/Berlin spring forward: @hourly has no instant twice and none missing', () => {
    const spec = compileCron('@hourly', 'Europe/Berlin');
    const fires = spec.take(at('2025-03-29T23:30:00Z'), 4);
    expect(fires.map(isoOf)).toEqual([
      '2025-03-30T00:00:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-30T02:00:00.000Z',
      '2025-03-30T03:00:00.000Z',
    ]);
  });

  it('previewCron shows where the transition lands', () => {
    const preview = previewCron('0 30 2 * * *', { timezone: NY, after: at('2025-03-08T12:00:00Z'), count: 2 });
    expect(preview[0]).toMatchObject({ local: '2025-03-09T03:30:00-04:00', dst: 'shifted' });
  });
});

describe('instantsBetween', () => {
  it('lists the instants strictly between, newest first kept when capped', () => {
    const spec = compileCron('* * * * * *');
    const from = at('2025-01-01T00:00:00Z');
    expect(instantsBetween(spec, from, from + 4_000, 10)).toEqual({
      instants: [from + 1_000, from + 2_000, from + 3_000],
      more: false,
    });
    expect(instantsBetween(spec, from, from + 10_000, 3)).toEqual({
      instants: [from + 7_000, from + 8_000, from + 9_000],
      more: true,
    });
    expect(instantsBetween(spec, from, from + 1_000, 3)).toEqual({ instants: [], more: false });
  });
});
