import { readFileSync } from 'node:fs';
import { LuaScript } from '@sched/redis';

const dir = new URL('./scripts/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
const load = (file: string): LuaScript => LuaScript.fromFile(dir, file, pkg.name, pkg.version);

export const scripts = {
  register: load('register-3.lua'),
  heartbeat: load('heartbeat-3.lua'),
  list: load('list-2.lua'),
  deregister: load('deregister-3.lua'),
} as const;
