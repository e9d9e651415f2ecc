import type { CatchupList, FireRecord, StateStore } from '../ports/state-store.js';
import type { MemoryStore } from './store.js';

/** StateStore on a `MemoryStore`. */
export class MemoryStateStore implements StateStore {
  constructor(private readonly store: MemoryStore) {}

  async getMarks(jobNames: readonly string[]): Promise<Map<string, number>> {
    this.store.check('getMarks');
    const out = new Map<string, number>();
    for (const name of jobNames) {
      const mark = this.store.marks.get(name);
      if (mark !== undefined) out.set(name, mark);
    }
    return out;
  }

  async advanceMark(jobName: string, instant: number): Promise<number> {
    this.store.check('advanceMark');
    const mark = this.store.marks.get(jobName);
    if (mark === undefined || mark < instant) {
      this.store.setMarks([[jobName, instant]]);
      return instant;
    }
    return mark;
  }

  async getFireRecord(fireId: string): Promise<FireRecord | null> {
    this.store.check('getFireRecord');
    const rec = this.store.fires.get(fireId);
    if (!rec || (rec.state === 'done' && rec.expiresAt <= this.store.clock.now())) return null;
    return { ...rec };
  }

  async listExpiredFires(now: number, limit: number): Promise<FireRecord[]> {
    this.store.check('listExpiredFires');
    const out: FireRecord[] = [];
    for (const rec of this.store.fires.values()) {
      if (rec.state !== 'done' && rec.expiresAt <= now) out.push({ ...rec });
    }
    out.sort((a, b) => a.expiresAt - b.expiresAt);
    return out.slice(0, limit);
  }

  async getRunState(runId: string): Promise<Record<string, string> | null> {
    this.store.check('getRunState');
    const run = this.store.runs.get(runId);
    if (!run || run.expiresAt <= this.store.clock.now()) return null;
    return { ...run.fields };
  }

  async getRunFields(runId: string, fields: readonly string[]): Promise<Record<string, string>> {
    this.store.check('getRunFields');
    const run = this.store.runs.get(runId);
    const out: Record<string, string> = {};
    if (!run || run.expiresAt <= this.store.clock.now()) return out;
    for (const field of fields) {
      const value = run.fields[field];
      if (value !== undefined) out[field] = value;
    }
    return out;
  }

  async setRunFieldIfAbsent(runId: string, field: string, value: string, ttlMs: number): Promise<boolean> {
    this.store.check('setRunFieldIfAbsent');
    const run = this.liveRun(runId, ttlMs);
    if (field in run.fields) return false;
    run.fields[field] = value;
    return true;
  }

  async setRunFields(runId: string, fields: Record<string, string>, ttlMs: number): Promise<void> {
    this.store.check('setRunFields');
    Object.assign(this.liveRun(runId, ttlMs).fields, fields);
  }

  async saveCatchup(list: CatchupList): Promise<void> {
    this.store.check('saveCatchup');
    this.store.putCatchup({ ...list, instants: [...list.instants] });
  }

  async getCatchup(jobName: string): Promise<CatchupList | null> {
    this.store.check('getCatchup');
    const list = this.store.catchups.get(jobName);
    return list ? { ...list, instants: [...list.instants] } : null;
  }

  async getCatchups(jobNames: readonly string[]): Promise<Map<string, CatchupList>> {
    this.store.check('getCatchups');
    const out = new Map<string, CatchupList>();
    for (const name of jobNames) {
      const list = this.store.catchups.get(name);
      if (list) out.set(name, { ...list, instants: [...list.instants] });
    }
    return out;
  }

  async ackCatchup(jobName: string, instant: number): Promise<void> {
    this.store.check('ackCatchup');
    this.store.removeCatchupInstant(jobName, instant);
  }

  private liveRun(runId: string, ttlMs: number) {
    const now = this.store.clock.now();
    let run = this.store.runs.get(runId);
    if (!run || run.expiresAt <= now) {
      run = { fields: {}, expiresAt: now + ttlMs };
      this.store.runs.set(runId, run);
    }
    run.expiresAt = now + ttlMs;
    return run;
  }
}
