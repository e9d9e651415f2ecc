import { packageProject } from '../../vitest.shared.ts';

export default packageProject('lock', { testTimeout: 60_000 });
