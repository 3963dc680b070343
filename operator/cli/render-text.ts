// The text report of `moectl plan`.
import type { NodeLike, TopologySpec, TrainingPlan } from '../plan/types.js';
import type { TimedOp } from '../plan/schedule/simulate.js';
import { fleetMap, scheduleTimeline } from './picture.js';

const GB = 1e9;

export function fmtBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (b >= 1000 && i < units.length - 1) {
    b /= 1000;
    i++;
  }
  return `${b.toFixed(b < 10 && i > 0 ? 2 : b < 100 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** 671.0B, 7.13M, 512K. */
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  return n >= 1e3 ? `${(n / 1e3).toFixed(0)}K` : String(n);
}

/** Seconds as s or ms. */
export function fmtSeconds(s: number): string {
  return s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(s >= 0.01 ? 0 : 2)} ms`;
}

/** Cell of a node in the map: stage in base 36 + replica letter (a, b, …), "··" for free, "xx" for excluded. */
export function nodeCell(unit: { pp: number; dp: number } | null, excluded: boolean): string {
  if (excluded) return 'xx';
  if (!unit) return '··';
  return `${unit.pp.toString(36)}${String.fromCharCode(97 + (unit.dp % 26))}`.padStart(2, ' ');
}

/**
 * One char per `scale` time units (what runs at the start of that slot): F/f forward dir 0/1, B/b backward,
 * W weight gradient, X overlapped F&B, '.' idle.
 */
export function timelineRow(ops: readonly TimedOp[], stepTime: number, scale = 1): string {
  const width = Math.ceil(stepTime / scale);
  const row = new Array<string>(width).fill('.');
  for (const t of ops) {
    let ch: string;
    if (t.op.kind === 'F') ch = t.op.dir === 0 ? 'F' : 'f';
    else if (t.op.kind === 'B') ch = t.op.dir === 0 ? 'B' : 'b';
    else if (t.op.kind === 'W') ch = 'W';
    else ch = 'X';
    for (let x = Math.ceil(t.start / scale); x * scale < t.end && x < width; x++) row[x] = ch;
  }
  return row.join('');
}

export function renderText(plan: TrainingPlan, nodes: readonly NodeLike[], topology: TopologySpec, name: string): string {
  const p = plan.parallelism;
  const out: string[] = [];
  const m = plan.model;
  out.push(`MoETrainingJob ${name}: ${m.preset ?? 'custom model'} — ${fmtCount(plan.params.total)} params (${fmtCount(plan.params.active)} active, MTP ${fmtCount(plan.params.mtp)})`);
  out.push(`world size ${plan.worldSize} = PP ${p.pipeline.stages} × EP ${p.expert} × DP ${p.data} × TP ${p.tensor}; ${plan.pods} pods × ${plan.gpusPerPod} GPUs`);
  out.push(`schedule ${p.pipeline.schedule}, ${p.pipeline.microBatches} micro-batches; bubble ${plan.schedule.bubbleFormula}`);
  out.push('');
  out.push('placement (cell = pipeline stage in base 36 + data replica letter; ·· free, xx excluded):');
  for (const s of fleetMap(plan, nodes, topology)) {
    out.push(`spine ${s.name}`);
    for (const l of s.leaves) {
      const cells = l.nodes.map((n) => nodeCell(n.unit, n.excluded));
      for (let i = 0; i < cells.length; i += 32) {
        out.push(`  ${i === 0 ? `leaf ${l.name}`.padEnd(14) : ''.padEnd(14)} ${cells.slice(i, i + 32).join(' ')}`);
      }
    }
  }
  out.push('');
  const sm = plan.summary;
  out.push(`traffic per step (${sm.strategy}):`);
  out.push(`  ${'level'.padEnd(8)} ${'GB/s/GPU'.padStart(8)} ${'total'.padStart(10)} ${'EP a2a'.padStart(10)} ${'PP p2p'.padStart(10)} ${'DP ZeRO'.padStart(10)}`);
  for (const t of sm.traffic) {
    out.push(`  ${t.level.padEnd(8)} ${String(t.gbpsPerGpu).padStart(8)} ${fmtBytes(t.bytesPerStep).padStart(10)} ${fmtBytes(t.ep).padStart(10)} ${fmtBytes(t.pp).padStart(10)} ${fmtBytes(t.dp).padStart(10)}`);
  }
  out.push(`  cross-leaf ${fmtBytes(sm.crossLeafBytes)} (lower bound ${fmtBytes(sm.crossLeafLowerBound)}); score ${sm.score.toFixed(3)}; est. comm ${fmtSeconds(sm.estCommSecondsPerStep)}/step on the busiest GPU`);
  for (const e of sm.explanations) out.push(`  - ${e}`);
  out.push('');
  const mem = plan.memory;
  out.push(`memory per GPU (estimate, busiest pipeline rank): ${fmtBytes(mem.totalBytes)}`);
  out.push(`  params ${fmtCount(mem.params)}${p.pipeline.schedule.startsWith('DualPipe') ? ' (two stages held)' : ''}: weights ${fmtBytes(mem.weightBytes)}, grads ${fmtBytes(mem.gradBytes)}, ZeRO-1 optimizer ${fmtBytes(mem.optimizerBytes)}, activations ${fmtBytes(mem.activationBytes)} (${mem.peakActivationChunks} chunks in flight)`);
  if (mem.totalBytes > 80 * GB) out.push('  (above 80 GB: more micro-batches of fewer sequences, recomputation or more stages would be needed)');
  out.push('');
  const tl = scheduleTimeline(plan);
  const scale = Math.max(1, Math.ceil(tl.stepTime / 150));
  out.push(`schedule timeline (F/f forward dir 0/1, B/b backward, W weight grads, X F&B overlapped, . idle; F=1 B=2 W=1 F&B=3${scale > 1 ? `; 1 char = ${scale} units` : ''}): step ${tl.stepTime}, max bubble ${Math.max(...tl.bubbles)}`);
  tl.ranks.forEach((ops, r) => out.push(`  pp${String(r).padStart(2, '0')} ${timelineRow(ops, tl.stepTime, scale)}`));
  if (plan.excludedNodes.length) {
    out.push('');
    out.push(`excluded nodes (${plan.excludedNodes.length}):`);
    for (const e of plan.excludedNodes.slice(0, 20)) out.push(`  ${e.name}: ${e.reason}`);
    if (plan.excludedNodes.length > 20) out.push(`  … ${plan.excludedNodes.length - 20} more`);
  }
  return out.join('\n') + '\n';
}
