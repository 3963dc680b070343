// Reads sharded checkpoints written under any parallel layout, and single-process ones (one writer holding every
// tensor whole), for any layout (I/O code). A checkpoint's rank files together hold
// every parameter exactly once, as pieces `param.<name>[from:to]` (with `optimizer.m.`/`optimizer.v.` beside them)
// cut by the writer's ZeRO-1 holder groups, plus `buffer.<name>` router biases. A reader indexes the pieces from the
// files' headers only, then reads and verifies (size + sha256) just the files that overlap the ranges it holds now,
// and copies the overlaps: resharding on load. Under the layout that wrote it, a rank reads only its own file.
//
// Damage is of two kinds. A step whose manifest is absent or unreadable, or whose file fails its size or sha256 check,
// is unusable and the ranks agree on an older one (resume.ts). A manifest that parses but lists a file that does not
// exist means the folder was changed after it was committed: that is a CheckpointAbort (the job exits 1).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { DTYPE_BYTES, parseHeader, type HeaderEntry } from './safetensors.js';
import { CheckpointAbort, sha256 } from './checkpoint-dirs.js';
import { STATE_FILE } from '../train/state.js';
export { stepsAt } from './checkpoint-dirs.js';

export const SHARDED_FORMAT = 'moe-runtime-sharded/2';

export interface ShardedManifest {
  format: string;
  step: number;
  worldSize: number;
  files: { name: string; rank: number; size: number; sha256: string }[];
}

export { CheckpointAbort };

interface FileIndex { name: string; rank: number; size: number; sha256: string; dataStart: number; entries: Map<string, HeaderEntry>; metadata: Record<string, string> }
interface StoredPiece { file: string; key: string; from: number; to: number }

/** A checkpoint's table of contents: which file holds which piece of which tensor. */
export interface ShardIndex {
  step: number;
  dir: string;
  manifest: ShardedManifest;
  files: Map<string, FileIndex>;
  /** `<kind>:<param name>` (kind param | optimizer.m | optimizer.v) → pieces, any order. */
  pieces: Map<string, StoredPiece[]>;
  /** buffer name → files holding it. */
  buffers: Map<string, string[]>;
}

function readHeader(file: string, label: string): { dataStart: number; entries: Map<string, HeaderEntry>; metadata: Record<string, string> } {
  const fd = openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) throw new Error(`${label}: shorter than the 8-byte header length`);
    const n = Number(len.readBigUInt64LE(0));
    if (n > 1 << 28) throw new Error(`${label}: header length ${n} is implausible (corrupt?)`);
    const hb = Buffer.alloc(n);
    if (readSync(fd, hb, 0, n, 8) !== n) throw new Error(`${label}: header runs past the end (truncated?)`);
    const { entries, metadata } = parseHeader(hb, label);
    return { dataStart: 8 + n, entries, metadata };
  } finally {
    closeSync(fd);
  }
}

const BIAS_SUFFIX = '.e_score_correction_bias';
const PIECE_KEY = /^(param|optimizer\.m|optimizer\.v)\.(.+)\[(\d+):(\d+)\]$/;

/** Parses the manifest and every file's header. Throws Error (use an older step) or CheckpointAbort. */
export function openIndex(step: number, dir: string): ShardIndex {
  const mf = path.join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new Error('manifest.json is missing (an incomplete write)');
  let manifest: ShardedManifest;
  try {
    manifest = JSON.parse(readFileSync(mf, 'utf8')) as ShardedManifest;
  } catch (e) {
    throw new Error(`manifest.json does not parse: ${(e as Error).message}`);
  }
  // A single-process checkpoint (train/state.ts) is one writer holding every tensor whole.
  const single = manifest.format === undefined && Array.isArray(manifest.files) && manifest.files.some((f) => f.name === STATE_FILE);
  if (single) manifest = { format: 'moe-runtime-train/1', step, worldSize: 1, files: manifest.files.filter((f) => f.name === STATE_FILE).map((f) => ({ ...f, rank: 0 })) };
  else if (manifest.format !== SHARDED_FORMAT) throw new Error(`format ${manifest.format} is not ${SHARDED_FORMAT}`);
  if (!Array.isArray(manifest.files) || manifest.files.length !== manifest.worldSize) {
    throw new Error(`manifest.json lists ${manifest.files?.length} files for ${manifest.worldSize} ranks`);
  }
  for (const f of manifest.files) {
    if (!existsSync(path.join(dir, f.name))) {
      throw new CheckpointAbort(`checkpoint ${dir}: manifest.json lists ${f.name} (rank ${f.rank}), which does not exist; ` +
        'the folder was changed after it was committed. Restore the file, or delete the step folder to resume from an older one');
    }
  }
  const ix: ShardIndex = { step, dir, manifest, files: new Map(), pieces: new Map(), buffers: new Map() };
  const addPiece = (kind: string, name: string, file: string, key: string, from: number, to: number) => {
    const list = ix.pieces.get(`${kind}:${name}`) ?? [];
    list.push({ file, key, from, to });
    ix.pieces.set(`${kind}:${name}`, list);
  };
  for (const f of manifest.files) {
    const file = path.join(dir, f.name);
    const size = statSync(file).size;
    if (size !== f.size) throw new Error(`${f.name} has ${size} bytes, manifest says ${f.size} (truncated?)`);
    const h = readHeader(file, f.name);
    ix.files.set(f.name, { ...f, ...h });
    for (const [k, e] of h.entries) {
      const m = PIECE_KEY.exec(k);
      if (single) {
        const n = e.shape.reduce((a, b) => a * b, 1);
        const opt = /^optimizer\.(m|v)\.(.+)$/.exec(k);
        if (opt) addPiece(`optimizer.${opt[1]}`, opt[2]!, f.name, k, 0, n);
        else if (k.endsWith(BIAS_SUFFIX)) ix.buffers.set(k, [f.name]);
        else addPiece('param', k, f.name, k, 0, n);
      } else if (m) {
        addPiece(m[1]!, m[2]!, f.name, k, Number(m[3]), Number(m[4]));
      } else if (k.startsWith('buffer.')) {
        const name = k.slice('buffer.'.length);
        ix.buffers.set(name, [...(ix.buffers.get(name) ?? []), f.name]);
      }
    }
  }
  return ix;
}

/** The ranges a rank holds now: its ZeRO-1 pieces and its router biases. */
export interface Need {
  pieces: { name: string; from: number; to: number }[];
  buffers: string[];
  /** Optimizer moments too (resume), or weights only (init). */
  optimizer: boolean;
  /** This rank's own file is preferred for buffers (any holder's copy is the same). */
  rank: number;
}

function overlapping(ix: ShardIndex, kind: string, name: string, from: number, to: number): StoredPiece[] {
  return (ix.pieces.get(`${kind}:${name}`) ?? []).filter((p) => p.from < to && p.to > from);
}

function bufferFile(ix: ShardIndex, name: string, rank: number): string | undefined {
  const files = ix.buffers.get(name) ?? [];
  return files.find((f) => ix.files.get(f)!.rank === rank) ?? files[0];
}

/** The files `need` reads (a subset of the manifest's). */
export function filesFor(ix: ShardIndex, need: Need): string[] {
  const out = new Set<string>();
  const kinds = need.optimizer ? ['param', 'optimizer.m', 'optimizer.v'] : ['param'];
  for (const pc of need.pieces) for (const k of kinds) for (const p of overlapping(ix, k, pc.name, pc.from, pc.to)) out.add(p.file);
  for (const b of need.buffers) {
    const f = bufferFile(ix, b, need.rank);
    if (f) out.add(f);
  }
  return [...out].sort();
}

/** A checkpoint whose needed files are in memory and verified. */
export interface LoadedCheckpoint { index: ShardIndex; bytes: Map<string, Uint8Array>; metadata: Record<string, string> }

/** Reads the files `need` touches, checks size and sha256, and checks that they cover every range. Throws Error. */
export function readVerified(ix: ShardIndex, need: Need): LoadedCheckpoint {
  const bytes = new Map<string, Uint8Array>();
  for (const name of filesFor(ix, need)) {
    const f = ix.files.get(name)!;
    const b = readFileSync(path.join(ix.dir, name));
    if (b.length !== f.size) throw new Error(`${name} has ${b.length} bytes, manifest says ${f.size} (truncated?)`);
    if (sha256(b) !== f.sha256) throw new Error(`${name} (rank ${f.rank}) fails its sha256 check (corrupt)`);
    bytes.set(name, new Uint8Array(b.buffer, b.byteOffset, b.length));
  }
  const kinds = need.optimizer ? ['param', 'optimizer.m', 'optimizer.v'] : ['param'];
  for (const pc of need.pieces) {
    for (const k of kinds) {
      const got = overlapping(ix, k, pc.name, pc.from, pc.to).reduce((a, p) => a + Math.min(p.to, pc.to) - Math.max(p.from, pc.from), 0);
      if (got !== pc.to - pc.from) {
        throw new CheckpointAbort(`checkpoint ${ix.dir} holds ${got} of the ${pc.to - pc.from} elements of ${k} ${pc.name}[${pc.from}:${pc.to}] ` +
          'this rank needs: it was written for another model (compare the model config of both jobs)');
      }
    }
  }
  for (const b of need.buffers) if (!bufferFile(ix, b, need.rank)) throw new CheckpointAbort(`checkpoint ${ix.dir} has no router bias ${b}: written for another model?`);
  const first = ix.files.get(ix.manifest.files[0]!.name)!;
  return { index: ix, bytes, metadata: first.metadata };
}

/** Copies `kind` of parameter `name`, elements [from, to), into `out` (Float32Array for weights, Uint16Array for BF16 moments). */
export function copyRange(ck: LoadedCheckpoint, kind: 'param' | 'optimizer.m' | 'optimizer.v', name: string, from: number, to: number,
  out: Float32Array | Uint16Array): void {
  const width = out.BYTES_PER_ELEMENT;
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  for (const p of overlapping(ck.index, kind, name, from, to)) {
    const f = ck.index.files.get(p.file)!;
    const e = f.entries.get(p.key)!;
    if (DTYPE_BYTES[e.dtype] !== width) throw new Error(`checkpoint ${ck.index.dir}: ${p.key} is ${e.dtype}, expected ${width}-byte elements`);
    const a = Math.max(from, p.from), b = Math.min(to, p.to);
    const src = ck.bytes.get(p.file)!.subarray(f.dataStart + e.begin + (a - p.from) * width, f.dataStart + e.begin + (b - p.from) * width);
    dst.set(src, (a - from) * width);
  }
}

/** A router bias from the preferred holder's file. */
export function copyBuffer(ck: LoadedCheckpoint, name: string, rank: number, out: Float32Array): void {
  const file = bufferFile(ck.index, name, rank)!;
  const f = ck.index.files.get(file)!;
  const e = f.entries.get(`buffer.${name}`) ?? f.entries.get(name)!;
  if (e.end - e.begin !== out.byteLength) throw new CheckpointAbort(`checkpoint ${ck.index.dir}: router bias ${name} has ${(e.end - e.begin) / 4} experts, this model ${out.length}`);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(ck.bytes.get(file)!.subarray(f.dataStart + e.begin, f.dataStart + e.end));
}
