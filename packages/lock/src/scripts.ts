import { readFileSync } from 'node:fs';
import { LuaScript } from '@sched/redis';

const dir = new URL('./scripts/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
const load = (file: string): LuaScript => LuaScript.fromFile(dir, file, pkg.name, pkg.version);

/** The Lua scripts of @sched/lock, read once per process (src/scripts or dist/scripts). */
export const scripts = {
  claimDue: load('claim-due-5.lua'),
  claimFire: load('claim-fire-4.lua'),
  updateFires: load('update-fires-3.lua'),
  listExpired: load('list-expired-2.lua'),
  marks: load('marks-2.lua'),
  lease: load('lease-2.lua'),
  runField: load('run-field-1.lua'),
  catchup: load('catchup-1.lua'),
} as const;
