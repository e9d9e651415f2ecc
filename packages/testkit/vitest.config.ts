import { packageProject } from '../../vitest.shared.ts';

export default packageProject('testkit', { testTimeout: 60_000 });
