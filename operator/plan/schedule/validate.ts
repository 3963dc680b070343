// Checks a whole schedule (ops of every rank): every micro-batch's F before its B before its W on each stage, inputs
// received (or handed over locally) before use, sends matching receives in order, and no deadlock.
import { scheduleFlows, type Hop } from './flows.js';
import { simulateSchedule } from './simulate.js';
import { opText, type Dir, type ScheduleName, type ScheduleOp } from './ops.js';

export interface ValidationResult {
  ok: boolean;
  errors: string[];
}

interface Neighbours {
  prev: Hop | null;
  next: Hop | null;
  microBatches: number;
}

export function validateSchedule(name: ScheduleName, ops: readonly (readonly ScheduleOp[])[], microBatches: number): ValidationResult {
  const errors: string[] = [];
  const ranks = ops.length;
  const hopInfo = new Map<string, Neighbours>();
  for (const flow of scheduleFlows(name, ranks, microBatches)) {
    flow.hops.forEach((h, i) => {
      hopInfo.set(`${h.rank}:${h.dir}`, { prev: flow.hops[i - 1] ?? null, next: flow.hops[i + 1] ?? null, microBatches: flow.microBatches });
    });
  }
  const channels = new Map<string, { send: string[]; recv: string[] }>();
  const chan = (k: string) => {
    let c = channels.get(k);
    if (!c) channels.set(k, (c = { send: [], recv: [] }));
    return c;
  };

  for (let r = 0; r < ranks; r++) {
    const seen = new Set<string>();
    const has = (what: string) => seen.has(what);
    const deferredQueue: string[] = [];
    const err = (i: number, msg: string) => errors.push(`rank ${r} op ${i} (${opText(ops[r]![i]!)}): ${msg}`);
    const info = (dir: Dir) => hopInfo.get(`${r}:${dir}`);

    const checkF = (i: number, dir: Dir, mb: number) => {
      const h = info(dir);
      if (!h) return err(i, `rank ${r} runs no stage in direction ${dir}`);
      if (mb < 0 || mb >= h.microBatches) return err(i, `micro-batch ${mb} out of range [0, ${h.microBatches})`);
      if (has(`F${dir}.${mb}`)) err(i, 'forward runs twice');
      if (h.prev && h.prev.rank === r && !has(`F${h.prev.dir}.${mb}`)) err(i, 'forward before the local hand-over input exists');
      if (h.prev && h.prev.rank !== r && !has(`recvF${dir}.${mb}@${h.prev.rank}`)) err(i, `forward before receiving its input from rank ${h.prev.rank}`);
      seen.add(`F${dir}.${mb}`);
    };
    const checkB = (i: number, dir: Dir, mb: number) => {
      const h = info(dir);
      if (!h) return err(i, `rank ${r} runs no stage in direction ${dir}`);
      if (!has(`F${dir}.${mb}`)) err(i, 'backward before its forward');
      if (has(`B${dir}.${mb}`)) err(i, 'backward runs twice');
      if (h.next && h.next.rank === r && !has(`B${h.next.dir}.${mb}`)) err(i, 'backward before the local hand-over gradient exists');
      if (h.next && h.next.rank !== r && !has(`recvB${dir}.${mb}@${h.next.rank}`)) err(i, `backward before receiving its gradient from rank ${h.next.rank}`);
      seen.add(`B${dir}.${mb}`);
    };

    ops[r]!.forEach((op, i) => {
      switch (op.kind) {
        case 'F':
          checkF(i, op.dir, op.mb);
          break;
        case 'B':
          checkB(i, op.dir, op.mb);
          if (op.deferW) deferredQueue.push(`${op.dir}.${op.mb}`);
          break;
        case 'FB':
          checkF(i, op.f.dir, op.f.mb);
          checkB(i, op.b.dir, op.b.mb);
          break;
        case 'W': {
          const head = deferredQueue.shift();
          if (head !== `${op.dir}.${op.mb}`) err(i, `weight gradient out of FIFO order (oldest deferred is ${head ?? 'none'})`);
          break;
        }
        default: {
          const h = info(op.dir);
          const send = op.kind.startsWith('send');
          const isF = op.kind.endsWith('F');
          const peerHop = h ? (isF === send ? h.next : h.prev) : null;
          if (!h || !peerHop || peerHop.rank === r || peerHop.rank !== op.peer) err(i, 'peer is not the neighbouring stage on another rank');
          if (send && !has(`${isF ? 'F' : 'B'}${op.dir}.${op.mb}`)) err(i, 'sends a result not computed yet');
          const src = send ? r : op.peer;
          const dst = send ? op.peer : r;
          chan(`${src}>${dst}:${isF ? 'F' : 'B'}${op.dir}`)[send ? 'send' : 'recv'].push(`${op.dir}.${op.mb}`);
          seen.add(`${op.kind}${op.dir}.${op.mb}@${op.peer}`);
        }
      }
    });
    if (deferredQueue.length) errors.push(`rank ${r}: ${deferredQueue.length} deferred weight gradients never run`);
    for (const dir of [0, 1] as Dir[]) {
      const h = info(dir);
      if (!h) continue;
      for (let mb = 0; mb < h.microBatches; mb++) {
        if (!has(`F${dir}.${mb}`)) errors.push(`rank ${r}: forward F${dir}.${mb} missing`);
        if (!has(`B${dir}.${mb}`)) errors.push(`rank ${r}: backward B${dir}.${mb} missing`);
      }
    }
  }
  for (const [k, c] of channels) {
    if (c.send.join(',') !== c.recv.join(',')) errors.push(`channel ${k}: sends [${c.send.join(' ')}] do not match receives [${c.recv.join(' ')}]`);
  }
  if (errors.length === 0) {
    const sim = simulateSchedule(ops, { F: 1, B: 2, W: 1, FB: 3 });
    if (!sim.ok) errors.push(`deadlock: ${sim.deadlock}`);
  }
  return { ok: errors.length === 0, errors };
}
