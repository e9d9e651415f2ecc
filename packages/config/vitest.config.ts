import { packageProject } from '../../vitest.shared.ts';

export default packageProject('config', { testTimeout: 60_000 });
