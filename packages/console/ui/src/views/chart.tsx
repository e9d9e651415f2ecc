import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StatsReport } from '../api';

/** Durations p50 / p95 (ms, left axis) and the success rate (%, right axis) per time bucket. */
export function StatsChart({ report }: { report: StatsReport }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const b = report.buckets;
    const rate = b.map((x) => (x.totalCount === 0 ? null : (100 * x.successCount) / x.totalCount));
    const plot = new uPlot(
      {
        width: Math.max(480, el.current.clientWidth),
        height: 240,
        scales: { x: { time: true }, rate: { range: [0, 100] } },
        series: [
          {},
          { label: 'p50 ms', stroke: '#2f7ed8', width: 2, spanGaps: true },
          { label: 'p95 ms', stroke: '#d9534f', width: 2, spanGaps: true },
          { label: 'success %', stroke: '#3c9d5d', width: 1, dash: [4, 4], scale: 'rate', spanGaps: true },
        ],
        axes: [{}, { label: 'ms' }, { side: 1, scale: 'rate', label: '%', grid: { show: false } }],
      },
      [
        b.map((x) => x.start / 1_000),
        b.map((x) => (x.totalCount === 0 ? null : x.p50DurationMs)),
        b.map((x) => (x.totalCount === 0 ? null : x.p95DurationMs)),
        rate,
      ],
      el.current,
    );
    return () => plot.destroy();
  }, [report]);
  return <div ref={el} class="chart" data-testid="stats-chart" />;
}
