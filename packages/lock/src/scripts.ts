import { LuaScript } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));

/** The Lua scripts of @sched/lock, read once per process (src/scripts or dist/scripts). */
export const scripts = {
  claimDue: load('claim-due-5.lua'),
  claimFire: load('claim-fire-5.lua'),
  updateFires: load('update-fires-3.lua'),
  listExpired: load('list-expired-2.lua'),
  getFire: load('get-fire-2.lua'),
  marks: load('marks-2.lua'),
  lease: load('lease-2.lua'),
  runField: load('run-field-1.lua'),
  catchup: load('catchup-1.lua'),
} as const;
