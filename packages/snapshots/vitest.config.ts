import { packageProject } from '../../vitest.shared.ts';

export default packageProject('snapshots', { testTimeout: 60_000 });
