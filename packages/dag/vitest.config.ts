import { packageProject } from '../../vitest.shared.ts';

export default packageProject('dag', { testTimeout: 60_000 });
