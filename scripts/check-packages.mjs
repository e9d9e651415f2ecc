#!/usr/bin/env node
// Publish checks for every public package (CI runs it after the build). Each
// package is packed once with `pnpm pack` (workspace:* replaced by versions, as
// `pnpm publish` would), then that tarball is checked:
//   publint (strict)                  — exports, files and types that npm will really ship
//   attw --profile node16             — types resolve for ESM and CJS consumers (Node ≥ 20)
//   the package.json fields a registry page needs (license, repository, README, sideEffects…)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(command, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

async function check(dir, out) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const problems = [];
  const missing = ['license', 'repository', 'description', 'exports', 'files', 'engines'].filter((f) => pkg[f] === undefined);
  if (!('sideEffects' in pkg)) missing.push('sideEffects');
  for (const file of ['README.md', 'LICENSE']) if (!existsSync(join(dir, file))) missing.push(file);
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`);

  const packed = await run('pnpm', ['pack', '--pack-destination', out], dir);
  const tarball = readdirSync(out).find((f) => f.startsWith(pkg.name.replace('@', '').replace('/', '-')) && f.endsWith('.tgz'));
  if (packed.status !== 0 || !tarball) return { name: pkg.name, problems: [...problems, `pnpm pack failed\n${packed.output}`] };
  const bytes = readFileSync(join(out, tarball));

  const lint = await publint({
    pkgDir: 'package',
    strict: true,
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
  });
  for (const m of lint.messages) problems.push(`publint ${m.type}: ${formatMessage(m, pkg) ?? m.code}`);

  const types = await run(bin('attw'), [join(out, tarball), '--profile', 'node16', '--format', 'table-flipped'], dir);
  if (types.status !== 0) problems.push(`attw failed\n${types.output}`);
  return { name: pkg.name, problems };
}

// `node scripts/check-packages.mjs metrics cli` checks only those folders.
const only = process.argv.slice(2);
const dirs = readdirSync(join(root, 'packages'))
  .filter((d) => only.length === 0 || only.includes(d))
  .map((d) => join(root, 'packages', d))
  .filter((d) => existsSync(join(d, 'package.json')) && !JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).private);
const out = mkdtempSync(join(tmpdir(), 'sched-pack-'));
const results = [];
try {
  // Two at a time: packing and attw are mostly waiting on files and child processes.
  const queue = [...dirs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let dir = queue.shift(); dir; dir = queue.shift()) {
        const r = await check(dir, out);
        console.log(`check-packages: ${r.name} ${r.problems.length === 0 ? 'ok' : 'FAILED'}`);
        results.push(r);
      }
    }),
  );
} finally {
  rmSync(out, { recursive: true, force: true });
}
const failed = results.filter((r) => r.problems.length > 0);
for (const r of failed) console.error(`\n${r.name}:\n  ${r.problems.join('\n  ')}`);
if (failed.length > 0) process.exit(1);
console.log(`check-packages: ${results.length} packages pass publint and attw`);
