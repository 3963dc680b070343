// Executes per-rank op lists against each other: communication is posted in batches (everything queued since the
// previous compute op is posted together when the rank reaches its next compute op, and waited on before it runs), a
// send and a receive match in order per channel (sender, receiver, F/B, dir), and compute takes the given durations.
// Gives step time, per-rank bubble and peak activations, or reports a deadlock.
import { isCompute, opText, type ScheduleOp } from './ops.js';

export interface Durations {
  /** Forward of one chunk (one stage, one micro-batch). */
  F: number;
  /** Full backward (input and weight gradients). */
  B: number;
  /** The weight-gradient part of B (a deferred backward costs B − W, its W op costs W). */
  W: number;
  /** A forward overlapped with a full backward. */
  FB: number;
  /** Added once to every batch of communication that is not empty. */
  commLatency?: number;
}

export interface TimedOp {
  op: ScheduleOp;
  start: number;
  end: number;
}

export interface RankResult {
  rank: number;
  busy: number;
  /** Step time − busy: the time this rank idles. */
  bubble: number;
  /** Most forward chunks whose backward has not run yet (an FB counts its forward first). */
  peakActivations: number;
  timeline: TimedOp[];
}

export type SimulationResult =
  | { ok: true; stepTime: number; ranks: RankResult[] }
  | { ok: false; deadlock: string };

export function computeDuration(op: ScheduleOp, d: Durations): number {
  switch (op.kind) {
    case 'F':
      return d.F;
    case 'B':
      return op.deferW ? d.B - d.W : d.B;
    case 'W':
      return d.W;
    case 'FB':
      return d.FB;
    default:
      return 0;
  }
}

function channelOf(rank: number, op: ScheduleOp): { key: string; side: 'send' | 'recv' } {
  if (op.kind !== 'sendF' && op.kind !== 'sendB' && op.kind !== 'recvF' && op.kind !== 'recvB') throw new Error('not comm');
  const send = op.kind.startsWith('send');
  const src = send ? rank : op.peer;
  const dst = send ? op.peer : rank;
  return { key: `${src}>${dst}:${op.kind.slice(4)}${op.dir}`, side: send ? 'send' : 'recv' };
}

interface Posted {
  key: string;
  side: 'send' | 'recv';
  index: number;
}

export function simulateSchedule(ops: readonly (readonly ScheduleOp[])[], d: Durations): SimulationResult {
  const n = ops.length;
  const posts = new Map<string, { send: number[]; recv: number[] }>();
  const chan = (key: string) => {
    let c = posts.get(key);
    if (!c) posts.set(key, (c = { send: [], recv: [] }));
    return c;
  };
  const idx = new Array<number>(n).fill(0);
  const time = new Array<number>(n).fill(0);
  const batch: (Posted[] | null)[] = new Array(n).fill(null);
  const done = new Array<boolean>(n).fill(false);
  const busy = new Array<number>(n).fill(0);
  const live = new Array<number>(n).fill(0);
  const peak = new Array<number>(n).fill(0);
  const timeline: TimedOp[][] = Array.from({ length: n }, () => []);
  const latency = d.commLatency ?? 0;

  const advance = (r: number): boolean => {
    let progressed = false;
    const list = ops[r]!;
    for (;;) {
      if (done[r]) return progressed;
      if (!batch[r]) {
        const b: Posted[] = [];
        while (idx[r]! < list.length && !isCompute(list[idx[r]!]!)) {
          const { key, side } = channelOf(r, list[idx[r]!]!);
          const arr = chan(key)[side];
          b.push({ key, side, index: arr.length });
          arr.push(time[r]!);
          idx[r]!++;
        }
        batch[r] = b;
        progressed = true;
      }
      let ready = time[r]!;
      for (const p of batch[r]!) {
        const c = posts.get(p.key)!;
        const other = p.side === 'send' ? c.recv : c.send;
        if (other.length <= p.index) return progressed;
        ready = Math.max(ready, other[p.index]!);
      }
      if (batch[r]!.length) ready += latency;
      time[r] = ready;
      batch[r] = null;
      progressed = true;
      if (idx[r]! >= list.length) {
        done[r] = true;
        return progressed;
      }
      const op = list[idx[r]!]!;
      const dur = computeDuration(op, d);
      timeline[r]!.push({ op, start: ready, end: ready + dur });
      time[r] = ready + dur;
      busy[r]! += dur;
      if (op.kind === 'F' || op.kind === 'FB') live[r]!++;
      peak[r] = Math.max(peak[r]!, live[r]!);
      if (op.kind === 'B' || op.kind === 'FB') live[r]!--;
      idx[r]!++;
    }
  };

  for (;;) {
    let any = false;
    for (let r = 0; r < n; r++) if (advance(r)) any = true;
    if (done.every(Boolean)) break;
    if (!any) {
      const stuck = [];
      for (let r = 0; r < n; r++) {
        if (done[r]) continue;
        const next = ops[r]![idx[r]!];
        stuck.push(`rank ${r} waits before ${next ? opText(next) : 'the end'} (op ${idx[r]})`);
      }
      return { ok: false, deadlock: stuck.join('; ') };
    }
  }
  const stepTime = Math.max(0, ...time);
  return {
    ok: true,
    stepTime,
    ranks: time.map((_, r) => ({
      rank: r,
      busy: busy[r]!,
      bubble: stepTime - busy[r]!,
      peakActivations: peak[r]!,
      timeline: timeline[r]!,
    })),
  };
}
