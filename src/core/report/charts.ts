/**
 * Inline SVG charts for the statistics page (pure). No style attributes (the CSP allows only the
 * nonce'd <style> block): colours are classes, sizes are SVG attributes. Every label passes `esc`.
 * Each chart has a title per bar (hover) and a role="img" label; the page also shows its numbers as
 * a table for keyboard and screen-reader users.
 */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (x: number): string => x.toLocaleString('en-US');

export const PALETTE = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-orange', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow', '--vscode-charts-foreground'];
export const COLOR_CSS = PALETTE.map((v, i) => `.c${i}{fill:var(${v})}`).join('');
export const BLUE = 0;
export const GREEN = 1;
export const ORANGE = 2;
export const PURPLE = 3;
export const RED = 4;
export const YELLOW = 5;

export interface Series {
  name: string;
  values: number[];
  color: number;
}

export interface BarChart {
  label: string;
  buckets: Array<{ label: string }>;
  series: Series[];
  /** Stack the series in one bar per bucket (else side by side). */
  stacked: boolean;
  unit: string;
}

const W = 720;
const H = 200;
const PLOT_H = 160;
const TICKS = 6;
/** Room above the bars for the peak label. */
const PLOT_TOP = 18;

/** Vertical bars over time buckets, x labels for up to 6 of them, the peak on the y axis. */
export function barChart(c: BarChart): string {
  const len = c.buckets.length;
  if (!len || c.series.every((s) => s.values.every((v) => !v))) return '<p class="muted">Nothing in this range.</p>';
  const totals = c.buckets.map((_, i) => (c.stacked ? c.series.reduce((a, s) => a + (s.values[i] ?? 0), 0) : Math.max(...c.series.map((s) => s.values[i] ?? 0))));
  const max = Math.max(1, ...totals);
  const slot = W / len;
  const parts: string[] = [];
  for (let i = 0; i < len; i++) {
    let y = PLOT_H;
    const per = c.stacked ? 1 : c.series.length;
    const bw = Math.max(0.5, slot / per - (slot > 4 ? 1 : 0));
    c.series.forEach((s, k) => {
      const v = s.values[i] ?? 0;
      if (!v) return;
      const h = (v / max) * (PLOT_H - PLOT_TOP);
      const x = i * slot + (c.stacked ? 0 : k * (slot / per));
      const top = c.stacked ? (y -= h) : PLOT_H - h;
      parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" class="c${s.color % PALETTE.length}"><title>${esc(c.buckets[i]!.label)} · ${esc(s.name)}: ${n(v)}${esc(c.unit)}</title></rect>`);
    });
  }
  // Up to TICKS labels, evenly spread, the first and the last always (anchored so they stay inside).
  const ticks = len <= TICKS ? c.buckets.map((_, i) => i) : [...new Set(Array.from({ length: TICKS }, (_, k) => Math.round((k * (len - 1)) / (TICKS - 1))))];
  for (const i of ticks) {
    const anchor = ticks.length > 1 && i === 0 ? 'start' : ticks.length > 1 && i === len - 1 ? 'end' : 'middle';
    const x = anchor === 'start' ? i * slot + 1 : anchor === 'end' ? (i + 1) * slot - 1 : i * slot + slot / 2;
    parts.push(`<text x="${x.toFixed(1)}" y="${PLOT_H + 16}" text-anchor="${anchor}" class="tick">${esc(c.buckets[i]!.label)}</text>`);
  }
  parts.push(`<text x="2" y="11" class="tick">peak ${n(max)}${esc(c.unit)}</text>`);
  parts.push(`<line x1="0" y1="${PLOT_H}" x2="${W}" y2="${PLOT_H}" class="baseline"/>`);
  const legend = c.series.length > 1 ? `<div class="legend">${c.series.map((s) => `<span class="key">${swatch(s.color)}${esc(s.name)}</span>`).join(' ')}</div>` : '';
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(c.label)}">${parts.join('')}</svg>${legend}`;
}

export function swatch(color: number): string {
  return `<svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" class="c${color % PALETTE.length}"/></svg>`;
}

/** Horizontal bars with a label and a number per row. */
export function hbars(rows: Array<[string, number, number]>): string {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return `<table class="bars">${rows
    .map(
      ([label, v, color]) =>
        `<tr><th scope="row">${esc(label)}</th><td><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect height="10" width="${v ? Math.max(0.5, (v / max) * 100).toFixed(1) : 0}" class="c${color}"/></svg></td><td class="num">${n(v)}</td></tr>`,
    )
    .join('')}</table>`;
}
