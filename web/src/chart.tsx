/**
 * A uPlot time chart: one or more series (overlaid nodes or fields), the unit on the
 * axis and in the legend, times in the chosen zone, resized with its container and
 * redrawn in the current theme's colours.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatUnit } from './format.ts';
import type { Zone } from './time.ts';
import { effectiveTheme } from './theme.ts';
import { useStore } from './store.ts';

export interface Series {
  label: string;
  /** epoch milliseconds, ascending */
  time: number[];
  values: (number | null)[];
}

const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16'];

export interface ChartProps {
  title: string;
  unit: string;
  series: Series[];
  tz: Zone;
  from: Date;
  to: Date;
  height?: number;
  /** A horizontal line (e.g. the bounce-rate threshold). */
  threshold?: number;
  /** Stacked area (throughput by outcome). */
  fill?: boolean;
}

/** A time-axis label (24-hour clock): the time of day, with the date when the range spans days. */
function tickLabel(t: number, span: number, tz: Zone): string {
  const d = new Date(t * 1000);
  const o: Intl.DateTimeFormatOptions = { timeZone: tz === 'utc' ? 'UTC' : undefined, hourCycle: 'h23' };
  if (span > 3 * 86400) return d.toLocaleDateString('en-GB', { ...o, day: '2-digit', month: 'short' });
  const hm = d.toLocaleTimeString('en-GB', { ...o, hour: '2-digit', minute: '2-digit' });
  return span > 86400 ? `${d.toLocaleDateString('en-GB', { ...o, day: '2-digit', month: 'short' })} ${hm}` : hm;
}

/** True when some series has a value (a field the source never sends has times but only nulls). */
export function hasValues(series: Series[]): boolean {
  return series.some((s) => s.values.some((v) => v !== null && v !== undefined));
}

/** Changes when the data does (not on every render with new arrays of the same data). */
function signature(series: Series[]): string {
  return JSON.stringify(series.map((s) => [s.label, s.time.length, s.time[0], s.time[s.time.length - 1], s.values[s.values.length - 1]]));
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const mode = useStore(effectiveTheme);
  const empty = !hasValues(props.series);

  useEffect(() => {
    const el = box.current;
    if (!el || empty) return;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#888';
    const grid = css.getPropertyValue('--grid').trim() || '#8884';
    const tables: uPlot.AlignedData[] = props.series.map((s) => [s.time.map((t) => t / 1000), s.values] as uPlot.AlignedData);
    const data = tables.length === 1 ? tables[0]! : uPlot.join(tables);
    const fmt = (v: number | null) => formatUnit(v, props.unit);
    const span = (props.to.getTime() - props.from.getTime()) / 1000;
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 220,
      tzDate: props.tz === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
      scales: { x: { time: true, range: () => [props.from.getTime() / 1000, props.to.getTime() / 1000] }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, props.unit === 'percent' ? 1 : 0.000001) * (props.unit === 'percent' ? 1 : 1.05)] } },
      axes: [{ ...axis, values: (_u, ticks) => ticks.map((t) => tickLabel(t, span, props.tz)) }, { ...axis, size: 84, values: (_u, ticks) => ticks.map((t) => fmt(t)) }],
      series: [
        { value: (_u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleString('sv-SE', { timeZone: props.tz === 'utc' ? 'UTC' : undefined })) },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length]!,
          width: 1.5,
          spanGaps: false,
          ...(props.fill ? { fill: `${PALETTE[i % PALETTE.length]!}33` } : {}),
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      ...(props.threshold !== undefined
        ? {
            hooks: {
              draw: [
                (u: uPlot) => {
                  const y = u.valToPos(props.threshold!, 'y', true);
                  const ctx = u.ctx;
                  ctx.save();
                  ctx.strokeStyle = '#ef4444';
                  ctx.setLineDash([6, 4]);
                  ctx.beginPath();
                  ctx.moveTo(u.bbox.left, y);
                  ctx.lineTo(u.bbox.left + u.bbox.width, y);
                  ctx.stroke();
                  ctx.restore();
                },
              ],
            },
          }
        : {}),
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [signature(props.series), props.unit, props.tz, props.from.getTime(), props.to.getTime(), mode, empty]);

  return (
    <figure class="chart" data-chart={props.title} data-points={String(props.series.reduce((n, s) => n + s.time.length, 0))}>
      <figcaption>
        {props.title} <span class="unit">{props.unit}</span>
      </figcaption>
      {empty ? <p class="empty">No data in this time range.</p> : <div ref={box} class="chart-box" />}
    </figure>
  );
}
