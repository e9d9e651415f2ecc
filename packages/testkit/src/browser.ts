import { existsSync } from 'node:fs';

/** Debian's Chromium (or `CHROMIUM_PATH`): browser tests never download a browser. */
export function chromiumPath(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p): p is string => p !== undefined && p !== '' && existsSync(p),
  );
}

/** True when a browser test can run; under `CI=true` a missing Chromium is a failure, not a skip. */
export function canRunChromium(): boolean {
  if (chromiumPath()) return true;
  const message = 'chromium is not installed (sudo apt-get install -y chromium)';
  if (process.env.CI === 'true') throw new Error(`sched testkit: ${message}; CI must run every browser test`);
  console.warn(`sched testkit: skipping browser tests: ${message}`);
  return false;
}

/** The flags a headless Chromium needs in a container (TOOLCHAIN.md). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-dev-shm-usage',
] as const;
