/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for the
 * tests: every line must be a `# HELP`/`# TYPE` comment, blank, or a sample
 * `name{label="value",…} number` of a family whose TYPE came first, or it
 * throws. Written here because the npm parser tried (parse-prometheus-text-format
 * 1.1.1) merges every series of a labelled histogram into one.
 */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:[0-9.e+-]+|Inf|\+Inf|NaN))(?: -?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/y;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`malformed labels in: ${line}`);
    labels[m[1] as string] = (m[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

export function parseExposition(text: string) {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!name || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type as string)) {
        throw new Error(`malformed TYPE line: ${line}`);
      }
      types.set(name, type as string);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const name = m[1] as string;
    const family = types.has(name)
      ? name
      : HISTOGRAM_SUFFIXES.map((s) => name.slice(0, -s.length)).find(
          (f, i) => name.endsWith(HISTOGRAM_SUFFIXES[i] as string) && types.get(f) === 'histogram',
        );
    if (family === undefined) throw new Error(`sample before its TYPE line: ${line}`);
    samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: Number(m[3]?.replace('Inf', 'Infinity')) });
  }
  const family = (name: string) => {
    if (!types.has(name)) throw new Error(`no metric ${name} in the exposition; it has ${[...types.keys()].join(', ')}`);
  };
  const matching = (name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    /** The families, by name. */
    names: [...types.keys()],
    types,
    samples,
    /** A counter's or gauge's value summed over the series with these labels (0 when none has them). */
    value(name: string, labels: Record<string, string> = {}): number {
      family(name);
      return matching(name, labels).reduce((a, s) => a + s.value, 0);
    },
    /** A histogram's count and sum over the series with these labels. */
    histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number } {
      if (types.get(name) !== 'histogram') throw new Error(`${name} is not a histogram`);
      return {
        count: matching(`${name}_count`, labels).reduce((a, s) => a + s.value, 0),
        sum: matching(`${name}_sum`, labels).reduce((a, s) => a + s.value, 0),
      };
    },
  };
}
