// Atomic checkpoint directories: RUN/checkpoints/step-00000100/ holding the files and manifest.json
// ({step, files: [{name, size, sha256}]}). Files go into a temporary sibling directory, each is fsynced, the
// manifest is written last, then the directory is renamed into place and the parent fsynced. Loading verifies sizes
// and hashes and falls back to the previous checkpoint, with a warning, when the latest is truncated or corrupt; a
// manifest that parses but lists a file that is not there is a CheckpointAbort (the folder was changed after commit).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open, rename, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SaveReply, SaveRequest } from './save-worker.js';

export interface CkptFile {
  name: string;
  bytes: Uint8Array;
}

export interface Manifest {
  step: number;
  files: { name: string; size: number; sha256: string }[];
}

const DIR_RE = /^step-(\d{8})$/;

/** Damage that must stop the job instead of falling back to an older checkpoint. */
export class CheckpointAbort extends Error {}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

async function writeSynced(file: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(file, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += (await fh.write(bytes, off, Math.min(bytes.length - off, 1 << 24))).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes one checkpoint atomically, then deletes all but the newest `keep`. Returns the final directory. */
export async function saveCheckpoint(runDir: string, step: number, files: CkptFile[], keep: number): Promise<string> {
  const root = checkpointsDir(runDir);
  await mkdir(root, { recursive: true });
  const final = path.join(root, stepDirName(step));
  const tmp = `${final}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const manifest: Manifest = { step, files: [] };
  for (const f of files) {
    if (f.name.includes('/') || f.name === 'manifest.json') throw new Error(`checkpoint file name ${f.name} is not allowed`);
    await writeSynced(path.join(tmp, f.name), f.bytes);
    manifest.files.push({ name: f.name, size: f.bytes.length, sha256: sha256(f.bytes) });
  }
  await writeSynced(path.join(tmp, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2)));
  await syncDir(tmp);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await syncDir(root);
  prune(runDir, keep);
  return final;
}

/** Complete checkpoint steps on disk, newest first (temporary directories are ignored). */
export function listSteps(runDir: string): number[] {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((n) => DIR_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
}

export function prune(runDir: string, keep: number): void {
  if (keep <= 0) return;
  for (const s of listSteps(runDir).slice(keep)) rmSync(path.join(checkpointsDir(runDir), stepDirName(s)), { recursive: true, force: true });
}

/** Reads and verifies one checkpoint directory; throws naming the file that is wrong. */
export function readVerified(dir: string): { manifest: Manifest; files: Map<string, Uint8Array> } {
  const mf = path.join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new Error(`${dir}: manifest.json is missing (incomplete write)`);
  const manifest = JSON.parse(readFileSync(mf, 'utf8')) as Manifest;
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files) {
    const p = path.join(dir, f.name);
    if (!existsSync(p)) {
      throw new CheckpointAbort(`${dir}: manifest.json lists ${f.name}, which does not exist; the folder was changed after it was committed. ` +
        'Restore the file, or delete the step folder to use an older one');
    }
    const bytes = readFileSync(p);
    if (bytes.length !== f.size) throw new Error(`${dir}: ${f.name} has ${bytes.length} bytes, manifest says ${f.size} (truncated?)`);
    if (sha256(bytes) !== f.sha256) throw new Error(`${dir}: ${f.name} fails its sha256 check (corrupt)`);
    files.set(f.name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  }
  return { manifest, files };
}

/** The newest checkpoint that verifies; broken newer ones are reported through `warn` and skipped. */
export function loadLatest(runDir: string, warn: (msg: string) => void = () => {}): { step: number; dir: string; files: Map<string, Uint8Array> } | undefined {
  for (const step of listSteps(runDir)) {
    const dir = path.join(checkpointsDir(runDir), stepDirName(step));
    try {
      const { files } = readVerified(dir);
      return { step, dir, files };
    } catch (e) {
      if (e instanceof CheckpointAbort) throw e;
      warn(`checkpoint ${dir} is unusable, falling back to the previous one: ${(e as Error).message}`);
    }
  }
  return undefined;
}

/**
 * A fresh start (resumeFrom none) beside old checkpoints: they are moved to checkpoints.replaced-<time>, not deleted,
 * so that retention never prunes the new run's steps in favour of higher-numbered old ones, and a restart never
 * mistakes them for the new run's. Returns the new folder, or undefined when there was nothing to move.
 */
export function setAsideCheckpoints(runDir: string, now = new Date()): string | undefined {
  if (listSteps(runDir).length === 0) return undefined;
  const to = `${checkpointsDir(runDir)}.replaced-${now.toISOString().replace(/[:.]/g, '-')}`;
  renameSync(checkpointsDir(runDir), to);
  return to;
}

/**
 * The checkpoints a path offers, newest first: a step folder (that step and the older ones beside it, so a damaged
 * recorded step can fall back), a checkpoints folder, or a run folder holding checkpoints/.
 */
export function stepsAt(p: string): { step: number; dir: string }[] {
  const m = DIR_RE.exec(path.basename(p));
  if (m) return stepsIn(path.dirname(p)).filter((s) => s.step <= Number(m[1]));
  if (existsSync(checkpointsDir(p))) return stepsIn(checkpointsDir(p));
  return stepsIn(p);
}

function stepsIn(dir: string): { step: number; dir: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((n) => DIR_RE.exec(n)).filter((x): x is RegExpExecArray => x !== null)
    .map((x) => ({ step: Number(x[1]), dir: path.join(dir, x[0]) })).sort((a, b) => b.step - a.step);
}

/**
 * Saves on a worker thread, one after another, so a save costs the training thread only the copy of the state
 * (snapshot + structured clone). Completion callbacks run when the training thread next yields to the event loop.
 */
export class BackgroundSaver {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly waiting = new Map<number, { step: number; t0: number; resolve: () => void }>();

  constructor(private readonly runDir: string, private readonly keep: number, private readonly onDone: (step: number, dir: string, seconds: number) => void, private readonly onError: (e: Error) => void) {
    mkdirSync(checkpointsDir(runDir), { recursive: true });
    this.worker = new Worker(new URL('./save-worker.js', import.meta.url));
    this.worker.on('message', (r: SaveReply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if ('error' in r) this.onError(new Error(`checkpoint at step ${w.step}: ${r.error}`));
      else this.onDone(w.step, r.dir, (performance.now() - w.t0) / 1000);
      w.resolve();
    });
    this.worker.on('error', (e) => this.onError(e));
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** `files` is cloned to the worker; the caller keeps training. Resolves when the save is done (or failed). */
  save(step: number, files: CkptFile[]): Promise<void> {
    const id = this.nextId++;
    const done = new Promise<void>((resolve) => {
      this.waiting.set(id, { step, t0: performance.now(), resolve });
      this.worker.postMessage({ id, runDir: this.runDir, step, keep: this.keep, files } satisfies SaveRequest);
    });
    this.inflight.add(done);
    void done.then(() => this.inflight.delete(done));
    return done;
  }

  /** Waits for every save, then stops the worker. */
  async close(): Promise<void> {
    await Promise.all([...this.inflight]);
    await this.worker.terminate();
  }
}
