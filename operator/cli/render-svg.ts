// `moectl plan --svg FILE`: the schedule timeline (one row per pipeline rank, like figure 5 of the DualPipe paper:
// forward/backward cells coloured by direction, numbered by micro-batch, overlapped F&B split in two halves) above the
// placement map (one row of nodes per leaf, coloured by pipeline stage, darker for later data replicas).
import type { NodeLike, TopologySpec, TrainingPlan } from '../plan/types.js';
import { fleetMap, scheduleTimeline, TIMELINE_DURATIONS } from './picture.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLORS = {
  F0: '#f9c74f',
  F1: '#90be6d',
  B0: '#f3722c',
  B1: '#43aa8b',
  W: '#577590',
  idle: '#ffffff',
};

function stageColor(pp: number, stages: number, dp: number): string {
  const hue = Math.round((pp / Math.max(1, stages)) * 300);
  const light = Math.max(35, 72 - 10 * dp);
  return `hsl(${hue} 70% ${light}%)`;
}

export function renderSvg(plan: TrainingPlan, nodes: readonly NodeLike[], topology: TopologySpec, name: string): string {
  const tl = scheduleTimeline(plan);
  const unit = Math.max(4, Math.min(16, Math.floor(1600 / Math.max(1, tl.stepTime))));
  const rowH = 18;
  const left = 60;
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="18" font-size="14" font-weight="bold">${esc(`${name}: ${plan.parallelism.pipeline.schedule}, PP ${plan.parallelism.pipeline.stages}, ${plan.parallelism.pipeline.microBatches} micro-batches (F=${TIMELINE_DURATIONS.F}, B=${TIMELINE_DURATIONS.B}, W=${TIMELINE_DURATIONS.W}, F&B=${TIMELINE_DURATIONS.FB})`)}</text>`);
  tl.ranks.forEach((ops, r) => {
    const ry = y + r * rowH;
    parts.push(`<text x="6" y="${ry + 13}" font-size="11">pp ${r}</text>`);
    parts.push(`<rect x="${left}" y="${ry}" width="${tl.stepTime * unit}" height="${rowH - 2}" fill="${COLORS.idle}" stroke="#ddd"/>`);
    for (const t of ops) {
      const x = left + t.start * unit;
      const w = (t.end - t.start) * unit;
      const cell = (cx: number, cw: number, color: string, text: string) => {
        parts.push(`<rect x="${cx}" y="${ry}" width="${cw}" height="${rowH - 2}" fill="${color}" stroke="#333" stroke-width="0.5"/>`);
        if (cw >= 10) parts.push(`<text x="${cx + cw / 2}" y="${ry + 12}" font-size="9" text-anchor="middle">${esc(text)}</text>`);
      };
      const op = t.op;
      if (op.kind === 'F') cell(x, w, op.dir === 0 ? COLORS.F0 : COLORS.F1, String(op.mb));
      else if (op.kind === 'B') cell(x, w, op.dir === 0 ? COLORS.B0 : COLORS.B1, String(op.mb));
      else if (op.kind === 'W') cell(x, w, COLORS.W, String(op.mb));
      else if (op.kind === 'FB') {
        cell(x, w / 2, op.f.dir === 0 ? COLORS.F0 : COLORS.F1, String(op.f.mb));
        cell(x + w / 2, w / 2, op.b.dir === 0 ? COLORS.B0 : COLORS.B1, String(op.b.mb));
      }
    }
  });
  y += tl.ranks.length * rowH + 10;
  const legend: [string, string][] = [['forward dir 0', COLORS.F0], ['forward dir 1', COLORS.F1], ['backward dir 0', COLORS.B0], ['backward dir 1', COLORS.B1], ['weight grads', COLORS.W]];
  legend.forEach(([label, color], i) => {
    parts.push(`<rect x="${left + i * 130}" y="${y}" width="12" height="12" fill="${color}" stroke="#333"/><text x="${left + i * 130 + 16}" y="${y + 10}" font-size="11">${label}</text>`);
  });
  y += 34;
  parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">placement: ${plan.pods} pods on ${new Set(plan.placement.map((p) => p.node)).size} nodes (colour = pipeline stage, darker = later data replica)</text>`);
  y += 10;
  const cellW = 14;
  for (const s of fleetMap(plan, nodes, topology)) {
    y += 16;
    parts.push(`<text x="6" y="${y + 10}" font-size="11" font-weight="bold">spine ${esc(s.name)}</text>`);
    y += 14;
    for (const l of s.leaves) {
      parts.push(`<text x="16" y="${y + 10}" font-size="10">${esc(l.name)}</text>`);
      l.nodes.forEach((n, i) => {
        const fill = n.excluded ? '#999' : n.unit ? stageColor(n.unit.pp, plan.parallelism.pipeline.stages, n.unit.dp) : '#f4f4f4';
        const label = n.unit ? `${n.name}: stage ${n.unit.pp}, replica ${n.unit.dp}` : n.excluded ? `${n.name}: excluded` : `${n.name}: free`;
        parts.push(`<rect x="${left + 40 + i * cellW}" y="${y}" width="${cellW - 2}" height="12" fill="${fill}" stroke="#555" stroke-width="0.4"><title>${esc(label)}</title></rect>`);
        if (n.unit) parts.push(`<text x="${left + 40 + i * cellW + (cellW - 2) / 2}" y="${y + 9}" font-size="7" text-anchor="middle">${n.unit.pp}</text>`);
      });
      y += 15;
    }
  }
  const widest = Math.max(1, ...fleetMap(plan, nodes, topology).flatMap((s) => s.leaves.map((l) => l.nodes.length)));
  const width = Math.max(left + tl.stepTime * unit + 20, left + 60 + widest * cellW);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
