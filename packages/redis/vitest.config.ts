import { packageProject } from '../../vitest.shared.ts';

export default packageProject('redis', { testTimeout: 60_000 });
