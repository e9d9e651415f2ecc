import { packageBuild } from '../../tsup.shared.ts';

// The server; the web UI is built by Vite into dist/ui first (see package.json), and
// tsup's `clean` is off so it stays. `shims` gives the CJS build `import.meta.url`.
export default packageBuild({ extra: { clean: false, shims: true } });
