/**
 * A uPlot time chart: one or more series (overlaid nodes or fields), the unit on the
 * axis and in the legend, times in the chosen zone, resized with its container and
 * redrawn in the current theme's colours. Time labels are spaced by their measured
 * width (two lines on a narrow chart), and a flat series still gets a y range whose
 * labels differ. With more than LEGEND_MAX series there is no legend: the cursor
 * focuses the nearest series and one line names it and its value.
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
/** Beyond this many series the legend gives way to the focused series' line. */
export const LEGEND_MAX = 8;
/** The axes' font (set explicitly, so the label widths measured here are the drawn ones). */
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';
/**
 * Up to this many points (all series) the unfocused series fade on hover; beyond, only the
 * cursor point marks the focused one. Fading redraws every series at each change of focus:
 * with 100 series × 31 points a mouse sweep dropped frames (p95 50 ms) on the shared
 * 2-core machine, without fading it did not (docs/performance.md, "Dashboard").
 */
const FADE_MAX_POINTS = 1_000;
/** Room between two time labels, in CSS pixels. */
const LABEL_GAP = 16;
/** Below this plot width a label with date and time takes two lines. */
const NARROW = 560;

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

/** A time-axis label (24-hour clock): the time of day, with the date when the range spans days (below it on a narrow chart). */
function tickLabel(t: number, span: number, tz: Zone, narrow: boolean): string {
  const d = new Date(t * 1000);
  const o: Intl.DateTimeFormatOptions = { timeZone: tz === 'utc' ? 'UTC' : undefined, hourCycle: 'h23' };
  if (span > 3 * 86400) return d.toLocaleDateString('en-GB', { ...o, day: '2-digit', month: 'short' });
  const hm = d.toLocaleTimeString('en-GB', { ...o, hour: '2-digit', minute: '2-digit' });
  return span > 86400 ? `${d.toLocaleDateString('en-GB', { ...o, day: '2-digit', month: 'short' })}${narrow ? '\n' : ' '}${hm}` : hm;
}

let measurer: CanvasRenderingContext2D | null = null;
/** Width in CSS pixels of the widest line of a label in the axes' font. */
function labelWidth(label: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return label.length * 7;
  measurer.font = AXIS_FONT;
  return Math.max(...label.split('\n').map((l) => measurer!.measureText(l).width));
}

/** The y range: from 0 (or below), headroom above, and never so flat that its labels repeat ("0 0 0"). */
export function yRange(min: number | null, max: number | null, unit: string): [number, number] {
  const lo = Math.min(0, min ?? 0);
  let hi = Math.max(max ?? 0, lo);
  // The least span whose ticks the unit's format tells apart: whole bytes, tenths of a percent, hundredths otherwise.
  const least = unit === 'bytes' || unit === 'bytes/s' ? 10 : unit === 'percent' || hi - lo === 0 ? 1 : 0.05;
  if (hi - lo < least) hi = lo + least;
  else if (unit !== 'percent') hi *= 1.05;
  return [lo, hi];
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
    /** A cursor time: date and time of day in the chosen zone (as the legend shows it). */
    const when = (t: number) => new Date(t * 1000).toLocaleString('sv-SE', { timeZone: props.tz === 'utc' ? 'UTC' : undefined });
    const span = (props.to.getTime() - props.from.getTime()) / 1000;
    const axis: uPlot.Axis = { stroke: fg, font: AXIS_FONT, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const many = props.series.length > LEGEND_MAX;
    const points = props.series.reduce((n, x) => n + x.time.length, 0);
    // The labels last drawn on each axis with their centres (CSS px along the axis), on the figure for tests and tools.
    const drawn: { x: [string, number][]; y: [string, number][] } = { x: [], y: [] };
    const figure = el.closest('figure');
    const narrowAt = (u: uPlot) => u.bbox.width / devicePixelRatio < NARROW;
    const focusLine = figure?.querySelector<HTMLElement>('.chart-focus') ?? null;
    let focused: number | null = null;
    const showFocus = (u: uPlot) => {
      if (!focusLine) return;
      // The focused series' own index near the cursor (series of different nodes rarely share timestamps).
      const idx = focused === null ? null : (u.cursor.idxs?.[focused] ?? u.cursor.idx);
      const s = focused === null ? undefined : props.series[focused - 1];
      const v = focused === null || idx === null || idx === undefined ? null : (u.data[focused]?.[idx] ?? null);
      focusLine.textContent = s && v !== null ? `${s.label}: ${fmt(v)} at ${when(u.data[0][idx!]!)}` : '';
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 220,
      tzDate: props.tz === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
      scales: { x: { time: true, range: () => [props.from.getTime() / 1000, props.to.getTime() / 1000] }, y: { range: (_u, min, max) => yRange(min, max, props.unit) } },
      axes: [
        {
          ...axis,
          // Ticks at least one label (the widest of the range's format) plus a gap apart.
          space: (u) => LABEL_GAP + Math.max(labelWidth(tickLabel(props.from.getTime() / 1000, span, props.tz, narrowAt(u))), labelWidth(tickLabel(props.to.getTime() / 1000, span, props.tz, narrowAt(u)))),
          values: (u, ticks) => {
            const labels = ticks.map((t) => tickLabel(t, span, props.tz, narrowAt(u)));
            drawn.x = labels.map((l, i) => [l, Math.round(u.valToPos(ticks[i]!, 'x'))]);
            return labels;
          },
        },
        {
          ...axis,
          size: 84,
          values: (u, ticks) => {
            const labels = ticks.map((t) => fmt(t));
            drawn.y = labels.map((l, i) => [l, Math.round(u.valToPos(ticks[i]!, 'y'))]);
            return labels;
          },
        },
      ],
      series: [
        { value: (_u, v) => (v === null ? '–' : when(v)) },
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length]!,
          width: many ? 1 : 1.5,
          spanGaps: false,
          ...(props.fill ? { fill: `${PALETTE[i % PALETTE.length]!}33` } : {}),
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
      legend: { show: !many, live: true },
      // Many series: the one nearest the cursor is focused — marked by the one cursor point and
      // named below the chart; the others are faded too while a redraw is cheap (FADE_MAX_POINTS).
      ...(many ? { focus: { alpha: points <= FADE_MAX_POINTS ? 0.15 : 1 } } : {}),
      cursor: { drag: { x: false, y: false }, ...(many ? { focus: { prox: 30 }, points: { one: true } } : {}) },
      hooks: {
        draw: [
          (u: uPlot) => {
            if (!figure) return;
            figure.setAttribute('data-x-labels', JSON.stringify(drawn.x));
            figure.setAttribute('data-y-labels', JSON.stringify(drawn.y));
            figure.setAttribute('data-plot-width', String(Math.round(u.bbox.width / devicePixelRatio)));
          },
          ...(props.threshold !== undefined
            ? [
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
              ]
            : []),
        ],
        ...(many
          ? {
              setSeries: [
                (u: uPlot, idx: number | null, o: uPlot.Series) => {
                  const focus = (o as { focus?: boolean }).focus;
                  if (focus === undefined) return;
                  focused = idx; // null: no series near the cursor
                  showFocus(u);
                },
              ],
              setCursor: [showFocus],
            }
          : {}),
      },
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
    <figure class="chart" data-chart={props.title} data-series={String(props.series.length)} data-points={String(props.series.reduce((n, s) => n + s.time.length, 0))}>
      <figcaption>
        {props.title} <span class="unit">{props.unit}</span>
      </figcaption>
      {empty ? <p class="empty">No data in this time range.</p> : <div ref={box} class="chart-box" />}
      {!empty && props.series.length > LEGEND_MAX && <p class="chart-focus hint" aria-live="polite" />}
    </figure>
  );
}
