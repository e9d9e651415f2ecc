import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidConfigError, StoreUnavailableError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CatchupList } from '../ports/state-store.js';
import { MemoryStore, type StoreChange } from './store.js';

const SNAPSHOT = 'sched-state.json';
const JOURNAL = 'sched-state.log';
const LOCK = 'sched.lock';
/** The journal is folded into the snapshot past this size. */
const COMPACT_BYTES = 4 * 1024 * 1024;
const FORMAT = 'sched-state';
/** Directories open in this process (the lock file's pid cannot tell two of ours apart). */
const openDirs = new Set<string>();
const VERSION = 1;

interface Snapshot {
  format: typeof FORMAT;
  version: number;
  epoch: number;
  floor: number | null;
  marks: Record<string, number>;
  catchups: Record<string, CatchupList>;
}

/**
 * A `MemoryStore` that keeps what must outlive the process in `dataDir`: the
 * high-water marks, catch-up lists, the data-loss floor and the fencing epoch.
 * Every change is appended to a journal (one line per claim batch, written
 * before the claim returns), folded into a snapshot at open and when the
 * journal grows; files are replaced by rename, so a crash leaves either the
 * old or the new file, and a torn last journal line is ignored. Fire records,
 * leases and DAG runs stay in memory: a process that dies mid-run leaves no
 * record of that run, and its instant is not claimed again. One process per
 * directory (a lock file holds its pid). No dependency but `node:fs`.
 */
export class FileStore extends MemoryStore {
  readonly dataDir: string;
  private journalBytes = 0;
  private closed = false;
  private loading = true;

  constructor(options: { dataDir: string; clock?: Clock }) {
    super(options.clock ? { clock: options.clock } : {});
    this.dataDir = options.dataDir;
    try {
      mkdirSync(this.dataDir, { recursive: true });
    } catch (error) {
      throw new InvalidConfigError('new Scheduler', [
        { path: 'dataDir', message: `cannot create ${this.dataDir}: ${String(error)}` },
      ]);
    }
    this.lock();
    try {
      this.load();
      this.compact();
    } catch (error) {
      this.unlock();
      throw error;
    }
    this.loading = false;
  }

  /** Writes the snapshot and releases the directory (the scheduler calls it when it stops). */
  close(): void {
    if (this.closed) return;
    this.compact();
    this.closed = true;
    this.unlock();
  }

  protected override persist(change: StoreChange): void {
    if (this.loading) return;
    if (this.closed) throw new StoreUnavailableError('file store', `${this.dataDir} was closed`);
    const line = `${JSON.stringify(toLine(change))}\n`;
    try {
      appendFileSync(join(this.dataDir, JOURNAL), line);
    } catch (error) {
      throw new StoreUnavailableError('file store', `cannot append to ${join(this.dataDir, JOURNAL)}: ${String(error)}`, {
        cause: error,
      });
    }
    this.journalBytes += Buffer.byteLength(line);
    if (this.journalBytes > COMPACT_BYTES) this.compact();
  }

  private load(): void {
    const snapshotPath = join(this.dataDir, SNAPSHOT);
    if (existsSync(snapshotPath)) {
      const snap = parseSnapshot(snapshotPath, readFileSync(snapshotPath, 'utf8'));
      this.epoch = Math.max(this.epoch, snap.epoch + 1);
      if (snap.floor !== null) this.restoreFloor(snap.floor);
      for (const [job, instant] of Object.entries(snap.marks)) this.marks.set(job, instant);
      for (const list of Object.values(snap.catchups)) this.catchups.set(list.jobName, list);
    }
    const journalPath = join(this.dataDir, JOURNAL);
    if (!existsSync(journalPath)) return;
    const lines = readFileSync(journalPath, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (text === '') return;
      let entry: JournalLine;
      try {
        entry = JSON.parse(text) as JournalLine;
      } catch (error) {
        // The last line may be torn by a crash mid-append: what it held was never acted on.
        if (i >= lines.length - 2) return;
        throw corrupt(journalPath, `line ${i + 1} is not JSON`, error);
      }
      this.apply(entry, journalPath, i + 1);
    });
  }

  private apply(entry: JournalLine, path: string, line: number): void {
    if (Array.isArray(entry.m)) {
      for (const [job, instant] of entry.m) {
        const current = this.marks.get(job);
        if (current === undefined || current < instant) this.marks.set(job, instant);
      }
    } else if (entry.c) this.catchups.set(entry.c.jobName, entry.c);
    else if (typeof entry.x === 'string') this.catchups.delete(entry.x);
    else if (typeof entry.e === 'number') this.epoch = Math.max(this.epoch, entry.e + 1);
    else if (typeof entry.f === 'number') {
      this.marks.clear();
      this.catchups.clear();
      this.epoch = Math.max(this.epoch, entry.f + 1);
    } else throw corrupt(path, `line ${line} is not a journal entry`);
  }

  /** Folds the journal into a new snapshot (written aside, then renamed over the old one). */
  private compact(): void {
    const snap: Snapshot = {
      format: FORMAT,
      version: VERSION,
      epoch: this.epoch,
      floor: Number.isFinite(this.floor) ? this.floor : null,
      marks: Object.fromEntries(this.marks),
      catchups: Object.fromEntries(this.catchups),
    };
    const target = join(this.dataDir, SNAPSHOT);
    try {
      writeFileSync(`${target}.tmp`, JSON.stringify(snap));
      renameSync(`${target}.tmp`, target);
      writeFileSync(join(this.dataDir, JOURNAL), '');
    } catch (error) {
      throw new StoreUnavailableError('file store', `cannot write ${target}: ${String(error)}`, { cause: error });
    }
    this.journalBytes = 0;
  }

  /** One process per directory: a second one would interleave journals. A lock left by a dead process is taken over. */
  private lock(): void {
    const dir = resolve(this.dataDir);
    if (openDirs.has(dir)) {
      throw new InvalidConfigError('new Scheduler', [
        { path: 'dataDir', message: `${this.dataDir} is in use by another scheduler of this process (one per dataDir)` },
      ]);
    }
    const path = join(this.dataDir, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        openDirs.add(dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const pid = Number(readFileSync(path, 'utf8'));
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new InvalidConfigError('new Scheduler', [
            { path: 'dataDir', message: `${this.dataDir} is in use by process ${pid} (one scheduler per dataDir)` },
          ]);
        }
        rmSync(path, { force: true });
      }
    }
    throw new InvalidConfigError('new Scheduler', [{ path: 'dataDir', message: `cannot lock ${path}` }]);
  }

  private unlock(): void {
    openDirs.delete(resolve(this.dataDir));
    rmSync(join(this.dataDir, LOCK), { force: true });
  }
}

interface JournalLine {
  m?: Array<[string, number]>;
  c?: CatchupList;
  x?: string;
  e?: number;
  f?: number;
}

function toLine(change: StoreChange): JournalLine {
  switch (change.kind) {
    case 'marks':
      return { m: change.entries as Array<[string, number]> };
    case 'catchup':
      return { c: change.list };
    case 'catchup-removed':
      return { x: change.jobName };
    case 'epoch':
      return { e: change.epoch };
    case 'flush':
      return { f: change.epoch };
  }
}

function parseSnapshot(path: string, text: string): Snapshot {
  let snap: Snapshot;
  try {
    snap = JSON.parse(text) as Snapshot;
  } catch (error) {
    throw corrupt(path, 'it is not JSON', error);
  }
  if (
    snap?.format !== FORMAT ||
    typeof snap.epoch !== 'number' ||
    typeof snap.marks !== 'object' ||
    typeof snap.catchups !== 'object'
  )
    throw corrupt(path, `it is not a ${FORMAT} file`);
  if (snap.version > VERSION)
    throw corrupt(path, `it was written by a newer sched (format ${snap.version}, this one reads ${VERSION})`);
  return snap;
}

function corrupt(path: string, what: string, cause?: unknown): InvalidConfigError {
  return new InvalidConfigError(
    'new Scheduler',
    [
      {
        path: 'dataDir',
        message: `${path}: ${what}; move it aside to start without the saved marks (missed fires will not be found)`,
      },
    ],
    cause === undefined ? {} : { cause },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
