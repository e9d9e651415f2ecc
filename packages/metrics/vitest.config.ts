import { packageProject } from '../../vitest.shared.ts';

export default packageProject('metrics', { testTimeout: 60_000 });
