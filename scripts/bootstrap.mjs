#!/usr/bin/env node
// The README's two commands on a fresh clone with only Node and npm:
//   npm run demo  → node scripts/bootstrap.mjs demo
//   npm test      → node scripts/bootstrap.mjs test
// Each gets the pinned pnpm (a global one of that exact version, else through
// `npx --yes pnpm@<version>`), installs the workspace when needed, builds, and runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, '');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NPM_CONFIG_UPDATE_NOTIFIER: 'false' };

function fail(message) {
  console.error(`bootstrap: ${message}`);
  process.exit(1);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node >= 20.19 is required, this is ${process.versions.node}`);

/** The command that runs the pinned pnpm. */
function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env, shell: process.platform === 'win32' });
  if (probe.status === 0 && probe.stdout.trim() === pnpmVersion) return ['pnpm'];
  return ['npx', '--yes', `pnpm@${pnpmVersion}`];
}

const pnpm = pnpmCommand();

function run(args, options = {}) {
  const [cmd, ...rest] = [...pnpm, ...args];
  const result = spawnSync(cmd, rest, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32', ...options });
  if (result.error) fail(`${[cmd, ...rest].join(' ')}: ${result.error.message}`);
  return result.status ?? 1;
}

function must(args) {
  const status = run(args);
  if (status !== 0) process.exit(status);
}

/** Installs when node_modules is missing or older than the lockfile. */
function ensureInstalled() {
  const marker = join(root, 'node_modules', '.modules.yaml');
  const lock = join(root, 'pnpm-lock.yaml');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error(`bootstrap: installing the workspace with pnpm ${pnpmVersion}…`);
  must(['install', '--frozen-lockfile']);
}

const [task = 'test', ...args] = process.argv.slice(2);
switch (task) {
  case 'pnpm':
    // Passthrough for scripts (.ci/run): node scripts/bootstrap.mjs pnpm <args>
    ensureInstalled();
    process.exit(run(args));
    break;
  case 'install':
    ensureInstalled();
    break;
  case 'demo':
    ensureInstalled();
    must(['turbo', 'run', 'build', '--filter', '@sched/demo^...', '--output-logs', 'errors-only']);
    process.exit(run(['--filter', '@sched/demo', 'start', '--', ...args]));
    break;
  case 'test':
    // Every test of every package (test tasks build what they depend on first), then the
    // multi-process scenarios alone, so nothing competes with their real-time margins.
    ensureInstalled();
    must(['turbo', 'run', 'test', '--output-logs', 'new-only', ...args]);
    process.exit(run(['turbo', 'run', 'test:e2e', '--output-logs', 'new-only', ...args]));
    break;
  default:
    fail(`unknown task "${task}" (expected demo, test, install or pnpm)`);
}
