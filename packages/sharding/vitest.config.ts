import { packageProject } from '../../vitest.shared.ts';

export default packageProject('sharding', { testTimeout: 60_000 });
