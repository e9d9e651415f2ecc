import { packageBuild } from '../../tsup.shared.ts';

// The library entry and the `sched` executable (its shebang is kept by tsup).
export default packageBuild({ entry: { index: 'src/index.ts', bin: 'src/bin.ts' } });
