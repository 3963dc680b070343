// Where a distributed run starts (I/O wiring of checkpoint/resume.ts): every rank checks which checkpoint steps it
// can load for the parameters it holds now (any writer layout: shard-reader.ts), the ranks agree on one step over the
// rendezvous store before anyone loads, and the agreed checkpoint is restored — everything for a resume, the
// weights and router biases only for an init. A run with checkpoints but none that every rank can use fails
// (StartFailure, exit 1) with each rank's reason instead of silently starting from step 0.
import { agreeRound, type RankReport, type StartSpec } from '../checkpoint/resume.js';
import type { Trainer } from '../train/trainer.js';
import type { Dist } from '../comm/init.js';
import { CheckpointAbort, copyBuffer, copyRange, openIndex, readVerified, stepsAt, type LoadedCheckpoint, type Need } from '../checkpoint/shard-reader.js';
import type { Zero1 } from './zero1.js';

/** The job cannot start from what it was told to start from; the message says why. Exit 1. */
export class StartFailure extends Error {}

export function needOf(t: Trainer, zero: Zero1, rank: number, optimizer: boolean): Need {
  return { pieces: zero.pieces.map((p) => ({ name: p.name, from: p.from, to: p.to })), buffers: [...t.params.buffers.keys()], optimizer, rank };
}

interface Agreed { step: number; checkpoint: LoadedCheckpoint; notes: string[] }

/**
 * Agrees on the newest step under `where` (at most `ceiling`) that every rank can load. Returns undefined when no
 * rank lists any checkpoint there; throws StartFailure when some do but none is usable by all, or on an abort.
 */
async function agree(dist: Dist, purpose: string, where: { path: string; step?: number; origin: string }, need: Need,
  log: (f: Record<string, unknown>) => void): Promise<Agreed | undefined> {
  const steps = stepsAt(where.path);
  const tried = new Map<number, { ck?: LoadedCheckpoint; error?: string; abort?: string }>();
  const check = (s: { step: number; dir: string }) => {
    let r = tried.get(s.step);
    if (!r) {
      try {
        r = { ck: readVerified(openIndex(s.step, s.dir), need) };
      } catch (e) {
        r = e instanceof CheckpointAbort ? { abort: e.message } : { error: `step ${s.step} (${s.dir}): ${(e as Error).message}` };
      }
      tried.set(s.step, r);
    }
    return r;
  };
  let ceiling = where.step ?? Number.MAX_SAFE_INTEGER;
  const notes = new Set<string>(); // every rank's reasons, over all rounds
  const listed = await exchange(dist, `${purpose}/listed`, String(steps.length));
  const anyListed = listed.some((n) => Number(n) > 0);
  if (!anyListed && where.step === undefined) return undefined;
  for (let round = 0; ; round++) {
    const mine: RankReport = { rank: dist.rank, step: null, skipped: [] };
    for (const s of steps) {
      if (s.step > ceiling) continue;
      const r = check(s);
      if (r.abort) {
        mine.abort = r.abort;
        break;
      }
      if (r.ck) {
        mine.step = s.step;
        break;
      }
      mine.skipped.push(r.error!);
    }
    const reports = (await exchange(dist, `${purpose}/${round}`, JSON.stringify(mine))).map((x) => JSON.parse(x) as RankReport);
    const out = agreeRound(reports);
    for (const r of reports) for (const m of r.skipped) notes.add(`rank ${r.rank}: ${m}`);
    if (out.kind === 'abort') throw new StartFailure(`${purpose} from ${where.origin}: ${out.reason}`);
    if (out.kind === 'none') {
      throw new StartFailure(`${purpose} from ${where.origin}: no checkpoint${where.step !== undefined ? ` at or before step ${where.step}` : ''} ` +
        `that every rank can load${notes.size ? `: ${[...notes].join('; ')}` : ` (ranks list ${listed.join(', ')} steps; is the same storage mounted on every pod?)`}`);
    }
    if (out.kind === 'agreed') {
      if (notes.size) log({ level: 'warn', msg: `${purpose}: newer checkpoints are unusable, using step ${out.step}`, reasons: [...notes] });
      return { step: out.step, checkpoint: tried.get(out.step)!.ck!, notes: [...notes] };
    }
    ceiling = out.ceiling;
  }
}

/** Every rank's value for `key`, by rank. */
async function exchange(dist: Dist, key: string, value: string): Promise<string[]> {
  const c = dist.store.client;
  await c.set(`start/${key}/${dist.rank}`, value);
  const out: string[] = [];
  for (let r = 0; r < dist.size; r++) {
    const v = await c.get(`start/${key}/${r}`, dist.opts.timeoutMs);
    if (v === undefined) throw new Error(`agreeing on the start checkpoint: rank ${r} did not answer '${key}' within ${dist.opts.timeoutMs}ms`);
    out.push(v.toString('utf8'));
  }
  return out;
}

/** Puts an agreed checkpoint into the trainer: weights and biases; with `resume`, moments, step and data position. */
async function restore(t: Trainer, zero: Zero1, ck: LoadedCheckpoint, rank: number, resume: boolean): Promise<void> {
  for (const pc of zero.pieces) {
    copyRange(ck, 'param', pc.name, pc.from, pc.to, t.params.get(pc.name).data.subarray(pc.from, pc.to) as Float32Array);
    if (!resume) continue;
    const key = `${pc.name}[${pc.from}:${pc.to}]`;
    copyRange(ck, 'optimizer.m', pc.name, pc.from, pc.to, zero.shardOpt.m.get(key)! as Uint16Array);
    copyRange(ck, 'optimizer.v', pc.name, pc.from, pc.to, zero.shardOpt.v.get(key)! as Uint16Array);
  }
  for (const [name, b] of t.params.buffers) copyBuffer(ck, name, rank, b as Float32Array);
  if (resume) {
    t.step = Number(ck.metadata.step);
    t.sampler.pos = { epoch: Number(ck.metadata.data_epoch), index: Number(ck.metadata.data_index) };
  }
  await zero.gatherParams();
}

export interface StartResult { kind: 'resumed' | 'initialised' | 'fresh'; step?: number; dir?: string; writerRanks?: number }

/** Resume if there is something to resume, else initialise if asked, else start fresh. Every rank calls this. */
export async function startPoint(dist: Dist, t: Trainer, zero: Zero1, spec: StartSpec, log: (f: Record<string, unknown>) => void): Promise<StartResult> {
  if (spec.resume) {
    const a = await agree(dist, 'resume', spec.resume, needOf(t, zero, dist.rank, true), log);
    if (a) {
      if (spec.resume.step !== undefined && a.step !== spec.resume.step) {
        log({ level: 'warn', msg: `resume: the operator recorded step ${spec.resume.step}, but not every rank can load it; resuming from step ${a.step}` });
      }
      await restore(t, zero, a.checkpoint, dist.rank, true);
      return { kind: 'resumed', step: a.step, dir: a.checkpoint.index.dir, writerRanks: a.checkpoint.index.manifest.worldSize };
    }
  }
  if (spec.init) {
    const a = await agree(dist, 'init', spec.init, needOf(t, zero, dist.rank, false), log);
    if (!a) throw new StartFailure(`init from ${spec.init.origin}: no checkpoint there (expected a run folder with checkpoints/, or a step-N folder)`);
    await restore(t, zero, a.checkpoint, dist.rank, false);
    return { kind: 'initialised', step: a.step, dir: a.checkpoint.index.dir, writerRanks: a.checkpoint.index.manifest.worldSize };
  }
  return { kind: 'fresh' };
}
