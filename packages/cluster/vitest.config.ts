import { packageProject } from '../../vitest.shared.ts';

export default packageProject('cluster', { testTimeout: 60_000 });
