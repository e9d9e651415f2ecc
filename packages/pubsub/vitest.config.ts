import { packageProject } from '../../vitest.shared.ts';

export default packageProject('pubsub', { testTimeout: 60_000 });
