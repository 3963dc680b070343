// Minimal SVG charts (line chart, heatmap) as strings: pure, no dependencies.
export interface Series {
  label: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], w = 640, h = 360): string {
  const pad = { l: 64, r: 16, t: 32, b: 44 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs, 0);
  const x1 = Math.max(...xs, 1);
  let y0 = Math.min(...ys, Infinity);
  let y1 = Math.max(...ys, -Infinity);
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const X = (x: number): number => pad.l + ((x - x0) / (x1 - x0 || 1)) * (w - pad.l - pad.r);
  const Y = (y: number): number => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`, `<rect width="${w}" height="${h}" fill="white"/>`, `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const yv = y0 + ((y1 - y0) * i) / 4;
    const xv = x0 + ((x1 - x0) * i) / 4;
    parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${Y(yv)}" y2="${Y(yv)}" stroke="#eee"/>`, `<text x="${pad.l - 6}" y="${Y(yv) + 4}" text-anchor="end">${fmt(yv)}</text>`, `<text x="${X(xv)}" y="${h - pad.b + 16}" text-anchor="middle">${fmt(xv)}</text>`);
  }
  parts.push(`<text x="${w / 2}" y="${h - 8}" text-anchor="middle">${esc(xLabel)}</text>`, `<text x="14" y="${h / 2}" transform="rotate(-90 14 ${h / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    const c = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts}"/>`, `<text x="${w - pad.r - 4}" y="${pad.t + 14 * (i + 1)}" text-anchor="end" fill="${c}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** rows × cols values as coloured cells (white → dark blue), row labels on the left. */
export function heatmap(title: string, rowLabels: string[], values: number[][], colLabel: string): string {
  const cols = Math.max(1, ...values.map((r) => r.length));
  const cell = Math.max(6, Math.min(28, Math.floor(560 / cols)));
  const left = 150;
  const w = left + cols * cell + 20;
  const h = 50 + values.length * cell + 30;
  const max = Math.max(1e-12, ...values.flat());
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`, `<rect width="${w}" height="${h}" fill="white"/>`, `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`];
  values.forEach((row, r) => {
    parts.push(`<text x="${left - 6}" y="${40 + r * cell + cell * 0.7}" text-anchor="end">${esc(rowLabels[r] ?? String(r))}</text>`);
    row.forEach((v, c) => {
      const a = v / max;
      const col = `rgb(${Math.round(255 - 225 * a)},${Math.round(255 - 180 * a)},${Math.round(255 - 80 * a)})`;
      parts.push(`<rect x="${left + c * cell}" y="${40 + r * cell}" width="${cell - 1}" height="${cell - 1}" fill="${col}"><title>${esc(rowLabels[r] ?? '')} #${c}: ${fmt(v)}</title></rect>`);
    });
  });
  parts.push(`<text x="${left + (cols * cell) / 2}" y="${h - 10}" text-anchor="middle">${esc(colLabel)} (darker = more tokens; max ${fmt(max)})</text>`, '</svg>');
  return parts.join('\n');
}
