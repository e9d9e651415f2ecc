import { LuaScript } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));

/** The Lua scripts of the Redis adapter, read once per process (src/scripts or dist/scripts). */
export const scripts = {
  record: load('record-2.lua'),
  update: load('update-1.lua'),
  list: load('list-2.lua'),
  stats: load('stats-2.lua'),
} as const;
