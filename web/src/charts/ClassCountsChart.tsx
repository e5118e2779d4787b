import { useMemo } from 'react';
import uPlot from 'uplot';
import { UPlotChart } from './UPlotChart';

/** Class name → count, as bars (uPlot's bars path builder), with the names on the x axis. */
export function ClassCountsChart({ counts }: { counts: Record<string, number> }) {
  const names = Object.keys(counts);
  const data = useMemo<uPlot.AlignedData>(() => [names.map((_, index) => index), names.map((name) => counts[name] ?? 0)], [counts]);
  const options = useMemo<Omit<uPlot.Options, 'width'>>(
    () => ({
      height: 240,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? (names[tick] ?? '') : '')), splits: () => names.map((_, index) => index) },
        { label: 'Annotations' },
      ],
      series: [{}, { label: 'Annotations', fill: '#1d4ed8', stroke: '#1d4ed8', paths: uPlot.paths.bars!({ size: [0.6, 80] }), points: { show: false } }],
    }),
    [names.join('\u0000')],
  );
  return <UPlotChart options={options} data={data} label={`Annotations per class: ${names.map((name) => `${name} ${counts[name]}`).join(', ')}`} />;
}
