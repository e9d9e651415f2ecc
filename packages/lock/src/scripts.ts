import { LuaScript } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));

/** The Lua scripts of @sched/lock, read once per process (src/scripts or dist/scripts). */
export const scripts = {
  claimDue: load('claim-due-6.lua'),
  claimFire: load('claim-fire-6.lua'),
  updateFires: load('update-fires-4.lua'),
  listExpired: load('list-expired-3.lua'),
  getFire: load('get-fire-3.lua'),
  marks: load('marks-2.lua'),
  lease: load('lease-2.lua'),
  runField: load('run-field-1.lua'),
  catchup: load('catchup-1.lua'),
} as const;
