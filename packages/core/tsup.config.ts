import { packageBuild } from '../../tsup.shared.ts';

export default packageBuild({
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  extra: { splitting: true, treeshake: true },
});
