// Where a single-process run starts (I/O wiring of checkpoint/resume.ts): the checkpoint to resume (everything), or
// the weights to initialise from (router biases included; fresh optimizer, step 0, data from the start). Init reads
// single-process and sharded checkpoints of any layout (dist/shard-reader.ts). A source with checkpoints of which
// none is usable is an error naming each one's fault, never a silent start from step 0.
import { startSpec, type StartSpec } from '../checkpoint/resume.js';
import { CheckpointAbort, readVerified as readStep, setAsideCheckpoints, stepsAt } from '../checkpoint/checkpoint-dirs.js';
import { copyBuffer, copyRange, openIndex, readVerified } from '../checkpoint/shard-reader.js';
import { restore } from './state.js';
import type { Trainer } from './trainer.js';

export interface StartLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string): void;
}

export interface ResumePoint { step: number; dir: string; files: Map<string, Uint8Array> }

/** The newest verified single-process checkpoint the spec allows, undefined when the source has none at all. */
export function findResume(spec: StartSpec, warn: (m: string) => void): ResumePoint | undefined {
  const r = spec.resume;
  if (!r) return undefined;
  const steps = stepsAt(r.path).filter((s) => r.step === undefined || s.step <= r.step);
  const reasons: string[] = [];
  for (const s of steps) {
    try {
      const { files } = readStep(s.dir);
      if (r.step !== undefined && s.step !== r.step) warn(`resume: step ${r.step} is unusable (${reasons.join('; ')}); resuming from step ${s.step}`);
      return { step: s.step, dir: s.dir, files };
    } catch (e) {
      if (e instanceof CheckpointAbort) throw e;
      reasons.push(`step ${s.step}: ${(e as Error).message}`);
      warn(`checkpoint ${s.dir} is unusable, trying the previous one: ${(e as Error).message}`);
    }
  }
  if (steps.length || r.step !== undefined) {
    throw new Error(`resume from ${r.origin}: no usable checkpoint${r.step !== undefined ? ` at or before step ${r.step}` : ''}: ${reasons.join('; ') || 'there is none'}`);
  }
  return undefined;
}

/** Loads the newest usable checkpoint's weights from spec.init into `t`; returns its step and folder. */
export function initWeights(t: Trainer, init: NonNullable<StartSpec['init']>, warn: (m: string) => void): { step: number; dir: string; writers: number } {
  const params = t.params.list();
  const need = { pieces: params.map((p) => ({ name: p.name, from: 0, to: p.data.length })), buffers: [...t.params.buffers.keys()], optimizer: false, rank: 0 };
  const reasons: string[] = [];
  for (const s of stepsAt(init.path)) {
    try {
      const ck = readVerified(openIndex(s.step, s.dir), need);
      for (const p of params) copyRange(ck, 'param', p.name, 0, p.data.length, p.data as Float32Array);
      for (const [name, b] of t.params.buffers) copyBuffer(ck, name, 0, b as Float32Array);
      return { step: s.step, dir: s.dir, writers: ck.index.manifest.worldSize };
    } catch (e) {
      if (e instanceof CheckpointAbort) throw e;
      reasons.push(`step ${s.step}: ${(e as Error).message}`);
      warn(`checkpoint ${s.dir} is unusable, trying the previous one: ${(e as Error).message}`);
    }
  }
  throw new Error(`init from ${init.origin}: no usable checkpoint: ${reasons.join('; ') || 'there is none (expected a run folder with checkpoints/, or a step-N folder)'}`);
}

/**
 * A single-process run's start (pre-training, SFT and GRPO alike): the start the environment asks for and the
 * checkpoint to resume, if any. Under resumeFrom none the run folder's own checkpoints are moved aside first.
 */
export function openStart(runDir: string, env: NodeJS.ProcessEnv, log: StartLog): { spec: StartSpec; ck: ResumePoint | undefined } {
  const spec = startSpec(env, runDir);
  const ck = findResume(spec, log.warn);
  const aside = spec.resume ? undefined : setAsideCheckpoints(runDir);
  if (aside) log.warn(`resumeFrom none: moved the checkpoints already in ${runDir} to ${aside}`);
  return { spec, ck };
}

/** Puts `t` where the run starts: the resume point's whole state, else spec.init's weights, else as built; logs which. */
export function applyStart(t: Trainer, ck: ResumePoint | undefined, spec: StartSpec, log: StartLog): void {
  if (ck) {
    restore(t, ck.files);
    log.info(`resumed from ${ck.dir}`, { step: t.step });
  } else if (spec.init) {
    const from = initWeights(t, spec.init, log.warn);
    log.info(`initialised weights from ${from.dir}`, { fromStep: from.step, writerRanks: from.writers });
  }
}
