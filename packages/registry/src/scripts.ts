import { LuaScript } from '@sched/redis';

const load = LuaScript.loader(new URL('./scripts/', import.meta.url), new URL('../package.json', import.meta.url));

/** The Lua scripts of @sched/registry, read once per process (src/scripts or dist/scripts). */
export const scripts = {
  register: load('register-3.lua'),
  heartbeat: load('heartbeat-3.lua'),
  list: load('list-2.lua'),
  deregister: load('deregister-3.lua'),
} as const;
