import { packageProject } from '../../vitest.shared.ts';

export default packageProject('remote', { testTimeout: 60_000 });
