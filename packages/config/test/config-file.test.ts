import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Scheduler, silentLogger, type ConfigDocument } from '@sched/core';
import { FakeClock } from '@sched/core/testing';
import { loadConfigFile, readConfigFile, type ConfigFileHandle } from '../src/index.js';

const dirs: string[] = [];
const handles: ConfigFileHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sched-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function scheduler(): Scheduler {
  const sched = new Scheduler({ clock: new FakeClock(Date.UTC(2026, 0, 1)), logger: silentLogger });
  for (const name of ['report', 'cleanup']) sched.registerJob({ name, execute: () => undefined }, { cronSpec: '0 0 * * * *' });
  return sched;
}

/** Waits until `check` holds (file-system events are real time: a generous bound, not a timing claim). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const YAML = `
timezone: Europe/Berlin
jobs:
  report:
    cronSpec: "0 */5 * * * *"
    priority: 100
    overlapPrevent: true
  cleanup:
    enabled: false
`;

describe('configuration files', () => {
  it('applies a YAML file: schedules, zone and fields reach the jobs', async () => {
    const dir = fixture({ 'sched.yaml': YAML });
    const sched = scheduler();
    handles.push(await loadConfigFile(sched, join(dir, 'sched.yaml')));
    expect(sched.getJob('report')).toMatchObject({
      cronSpec: '0 */5 * * * *',
      timezone: 'Europe/Berlin',
      priority: 100,
      overlapPrevent: true,
    });
    expect(sched.getJob('cleanup')).toMatchObject({ enabled: false, cronSpec: '0 0 * * * *' });
  });

  it('applies the same document from JSON', async () => {
    const doc: ConfigDocument = { jobs: { report: { cronSpec: '30 * * * * *', misfirePolicy: 'skip' } } };
    const dir = fixture({ 'sched.json': JSON.stringify(doc) });
    expect(await readConfigFile(join(dir, 'sched.json'))).toEqual(doc);
    const sched = scheduler();
    handles.push(await loadConfigFile(sched, join(dir, 'sched.json')));
    expect(sched.getJob('report')).toMatchObject({ cronSpec: '30 * * * * *', misfirePolicy: 'skip' });
  });

  const bad: Array<[string, string, string, RegExp]> = [
    [
      'invalid YAML',
      'bad.yaml',
      'jobs:\n  report: [unclosed\n',
      /bad\.yaml.*not valid YAML.*line \d+, column \d+|line \d+, column \d+.*not valid YAML/s,
    ],
    ['invalid JSON', 'bad.json', '{"jobs": ', /bad\.json.*not valid JSON/],
    [
      'an unknown field',
      'field.yaml',
      'jobs:\n  report:\n    colour: blue\n',
      /field\.yaml.*jobs\.report: unknown field "colour"/,
    ],
    ['a wrong-typed field', 'type.yaml', 'jobs:\n  report:\n    priority: high\n', /type\.yaml.*jobs\.report\.priority/],
    [
      'a bad cron spec',
      'cron.yaml',
      'jobs:\n  report:\n    cronSpec: "61 * * * * *"\n',
      /jobs\.report\.cronSpec.*\(in .*cron\.yaml\)/,
    ],
    [
      'a job with no code',
      'ghost.yaml',
      'jobs:\n  ghost:\n    cronSpec: "0 * * * * *"\n',
      /ghost.*no registered code.*\(in .*ghost\.yaml\)/,
    ],
  ];
  for (const [what, name, text, message] of bad) {
    it(`${what}: a typed error naming the file and the place; the running config stays`, async () => {
      const dir = fixture({ 'good.yaml': YAML, [name]: text });
      const sched = scheduler();
      handles.push(await loadConfigFile(sched, join(dir, 'good.yaml')));
      const before = sched.getConfigDocument();
      const error = (await loadConfigFile(sched, join(dir, name)).catch((e: unknown) => e)) as Error & { code?: string };
      expect(error.code).toMatch(/^SCHED_/);
      expect(error.message).toMatch(message);
      expect(sched.getConfigDocument()).toEqual(before);
      expect(sched.getJob('report').cronSpec).toBe('0 */5 * * * *');
    });
  }

  it('a missing file or another extension is refused with a typed error', async () => {
    const dir = fixture({ 'sched.toml': 'x = 1' });
    await expect(readConfigFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: ErrorCode.InvalidConfig,
      message: expect.stringMatching(/missing\.yaml.*cannot read the file/),
    });
    await expect(readConfigFile(join(dir, 'sched.toml'))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('watch: an edit is applied once (debounced), an invalid edit is rejected and the last good config keeps running', async () => {
    const dir = fixture({ 'sched.yaml': YAML });
    const file = join(dir, 'sched.yaml');
    const sched = scheduler();
    const reloads: ConfigDocument[] = [];
    const errors: Error[] = [];
    handles.push(
      await loadConfigFile(sched, file, {
        watch: true,
        debounceMs: 100,
        onReload: (d) => reloads.push(d),
        onError: (e) => errors.push(e),
      }),
    );
    // A burst of writes is one reload, of the last content.
    for (const minute of [1, 2, 3]) writeFileSync(file, YAML.replace('0 */5 * * * *', `0 */${minute} * * * *`));
    await until(() => reloads.length === 1, 'the reload');
    expect(sched.getJob('report').cronSpec).toBe('0 */3 * * * *');
    writeFileSync(file, 'jobs:\n  report:\n    cronSpec: "not a cron"\n');
    await until(() => errors.length === 1, 'the rejected edit');
    expect(errors[0]?.message).toMatch(/jobs\.report\.cronSpec/);
    expect(sched.getJob('report').cronSpec).toBe('0 */3 * * * *');
    // Saved the way editors do: a new file renamed over the old one.
    writeFileSync(join(dir, 'sched.yaml.tmp'), YAML.replace('0 */5 * * * *', '15 * * * * *'));
    renameSync(join(dir, 'sched.yaml.tmp'), file);
    await until(() => reloads.length === 2, 'the second reload');
    expect(sched.getJob('report').cronSpec).toBe('15 * * * * *');
    expect(reloads).toHaveLength(2);
  });
});
