import { packageProject } from '../../vitest.shared.ts';

export default packageProject('console', { testTimeout: 30_000 });
