import { useMemo } from 'react';
import type uPlot from 'uplot';
import { UPlotChart } from './UPlotChart';
import { plottedPoints, tickLabels } from './metrics';

const COLOURS = ['#1d4ed8', '#b42318', '#067647', '#7c3aed', '#c2410c', '#0e7490'];

/**
 * One chart of metric curves by epoch: one series for a job's metric, or several (one per run)
 * when runs are compared. The points plotted are in `data-points` for tests and tools.
 */
export function MetricChart({ title, epochs, series }: { title: string; epochs: number[]; series: { label: string; values: (number | null)[] }[] }) {
  const labels = series.map((line) => line.label).join('\u0000');
  const options = useMemo<Omit<uPlot.Options, 'width'>>(
    () => ({
      height: 220,
      scales: { x: { time: false } },
      // Epochs are whole numbers; values keep the digits that tell ticks apart, however small they get.
      axes: [
        { label: 'Epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
        { values: (_plot, ticks) => tickLabels(ticks), size: 70 },
      ],
      series: [
        { label: 'Epoch' },
        ...series.map((line, index) => ({
          label: line.label,
          stroke: COLOURS[index % COLOURS.length],
          width: 2,
          spanGaps: false,
          points: { show: true, size: 6 },
        })),
      ],
    }),
    // The plot is rebuilt only when its lines change, not when they grow.
    [labels],
  );
  const data = useMemo<uPlot.AlignedData>(() => [epochs, ...series.map((line) => line.values)], [epochs, series]);
  const points = series.reduce((sum, line) => sum + plottedPoints(line.values), 0);
  return (
    <figure className="chart" data-points={points}>
      <figcaption>{title}</figcaption>
      <UPlotChart options={options} data={data} label={`${title}: ${points} points over ${epochs.length} epochs`} />
    </figure>
  );
}
