// A time series drawn with uPlot (a few kB, canvas: thousands of points stay fast).
import 'uplot/dist/uPlot.min.css';
import uPlot from 'uplot';
import {useEffect, useRef} from 'preact/hooks';

export interface Series {
  label: string;
  values: (number | null)[];
  format?: (value: number) => string;
  // Counts (players): the axis ticks whole numbers only, never 0, 0.5, 1 shown as 0, 1, 1.
  integer?: boolean;
}

// Tick spacings a count's axis may use.
const wholeSteps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

// `range`: the time span shown, [from, to] in seconds (default: the data's own).
export function Chart({title, times, series, height = 180, range}: {
  title: string; times: number[]; series: Series[]; height?: number; range?: [number, number];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  useEffect(() => {
    const node = box.current;
    if (!node) return;
    const styles = getComputedStyle(document.documentElement);
    const ink = styles.getPropertyValue('--muted').trim() || '#888';
    const colors = ['--accent', '--chart-2', '--chart-3'].map((name) => styles.getPropertyValue(name).trim() || '#3b82f6');
    const axis = {stroke: ink, grid: {stroke: styles.getPropertyValue('--line').trim() || '#8884'}};
    const options: uPlot.Options = {
      width: Math.max(200, node.clientWidth),
      height,
      legend: {show: true},
      cursor: {drag: {x: false, y: false}},
      scales: {x: range ? {time: true, range: () => range} : {time: true}, y: {range: (_plot, _min, max) => [0, Math.max(1, max)]}},
      axes: [axis, {
        ...axis,
        ...(series[0]?.integer ? {incrs: wholeSteps} : {}),
        values: (_plot, ticks) => ticks.map((tick) => series[0]?.format?.(tick) ?? String(tick)),
      }],
      series: [{}, ...series.map((one, index) => ({
        label: one.label, stroke: colors[index % colors.length], width: 2,
        value: (_plot: uPlot, value: number | null) => value == null ? '–' : (one.format?.(value) ?? String(value)),
      }))],
    };
    plot.current?.destroy();
    plot.current = new uPlot(options, [times, ...series.map((one) => one.values)] as uPlot.AlignedData, node);
    const resize = new ResizeObserver(() => plot.current?.setSize({width: Math.max(200, node.clientWidth), height}));
    resize.observe(node);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [times, series, height, range?.[0], range?.[1]]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
