// Sharded training checkpoints (I/O code). Every rank writes its own file in parallel — its ZeRO-1 shards (one per
// holder group, zero1.ts) of the FP32 master weights it holds and their BF16 AdamW moments, the router biases of its
// layers, the step and the data position — into
// RUN/checkpoints/step-N.partial/rank-R.safetensors (temp file, fsync, rename). The ranks then exchange their
// files' sizes and sha256 over the group, and rank 0 writes manifest.json last and renames the directory to
// step-N: a step directory exists only once every shard is complete. Resume reads only the rank's own file and
// rebuilds the parameters it holds with one all-gather per holder group; the layout must be the one written
// (the shard's metadata records it).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { asF32, asU16, bytesOf, parse, serialize, type TensorEntry } from '../checkpoint/safetensors.js';
import { checkpointsDir, listSteps, prune, sha256, stepDirName } from '../checkpoint/store.js';
import type { Trainer } from '../train/trainer.js';
import type { ProcessGroup } from './process-group.js';
import type { Zero1 } from './zero1.js';

const FORMAT = 'moe-runtime-sharded/2';

export interface ShardedManifest {
  format: string;
  step: number;
  worldSize: number;
  files: { name: string; rank: number; size: number; sha256: string }[];
}

export function rankFileName(rank: number): string {
  return `rank-${String(rank).padStart(5, '0')}.safetensors`;
}

async function writeSynced(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

function copy(a: ArrayBufferView): Uint8Array {
  return Uint8Array.from(bytesOf(a));
}

/** This rank's shard as a safetensors file. */
export function shardFile(t: Trainer, zero: Zero1, rank: number, worldSize: number): Uint8Array {
  const entries: TensorEntry[] = [];
  for (const pc of zero.pieces) {
    const key = `${pc.name}[${pc.from}:${pc.to}]`;
    const n = pc.to - pc.from;
    entries.push({ name: `param.${key}`, dtype: 'F32', shape: [n], data: copy(t.params.get(pc.name).data.subarray(pc.from, pc.to)) });
    entries.push({ name: `optimizer.m.${key}`, dtype: 'BF16', shape: [n], data: copy(zero.shardOpt.m.get(key)!) });
    entries.push({ name: `optimizer.v.${key}`, dtype: 'BF16', shape: [n], data: copy(zero.shardOpt.v.get(key)!) });
  }
  for (const [name, b] of t.params.buffers) entries.push({ name: `buffer.${name}`, dtype: 'F32', shape: [b.length], data: copy(b) });
  return serialize(entries, {
    format: FORMAT, step: String(t.step), rank: String(rank), world_size: String(worldSize),
    data_epoch: String(t.sampler.pos.epoch), data_index: String(t.sampler.pos.index),
    zero1_layout: zero.signature,
  });
}

/** Every rank calls this at the same step; returns the committed directory. */
export async function saveSharded(runDir: string, t: Trainer, zero: Zero1, group: ProcessGroup, keep: number): Promise<string> {
  const root = checkpointsDir(runDir);
  const final = path.join(root, stepDirName(t.step));
  const partial = `${final}.partial`;
  await mkdir(partial, { recursive: true });
  const bytes = shardFile(t, zero, group.rank, group.size);
  await writeSynced(path.join(partial, rankFileName(group.rank)), bytes);
  // Sizes and hashes to everyone: 8 bytes of size + 64 hex digits per rank.
  const mine = new Uint8Array(72);
  new DataView(mine.buffer).setFloat64(0, bytes.length, true);
  mine.set(Buffer.from(sha256(bytes), 'ascii'), 8);
  const all = new Uint8Array(72 * group.size);
  await group.allgather(mine, all);
  if (group.rank === 0) {
    const manifest: ShardedManifest = {
      format: FORMAT, step: t.step, worldSize: group.size,
      files: Array.from({ length: group.size }, (_, r) => ({
        name: rankFileName(r), rank: r, size: new DataView(all.buffer, 72 * r, 8).getFloat64(0, true),
        sha256: Buffer.from(all.subarray(72 * r + 8, 72 * r + 72)).toString('ascii'),
      })),
    };
    await writeSynced(path.join(partial, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2)));
    await rm(final, { recursive: true, force: true });
    await rename(partial, final);
    prune(runDir, keep);
  }
  // Nobody starts the next checkpoint (or exits) before rank 0 has committed this one.
  await group.barrier();
  return final;
}

export interface LoadedShard {
  step: number;
  dir: string;
  manifest: ShardedManifest;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** The newest committed checkpoint whose manifest fits this job and whose own shard verifies. */
export function loadShard(runDir: string, rank: number, worldSize: number, warn: (m: string) => void = () => {}): LoadedShard | undefined {
  for (const step of listSteps(runDir)) {
    const dir = path.join(checkpointsDir(runDir), stepDirName(step));
    try {
      const mf = path.join(dir, 'manifest.json');
      if (!existsSync(mf)) throw new Error('manifest.json is missing');
      const manifest = JSON.parse(readFileSync(mf, 'utf8')) as ShardedManifest;
      if (manifest.format !== FORMAT) throw new Error(`format ${manifest.format} is not ${FORMAT}`);
      if (manifest.worldSize !== worldSize) {
        throw new Error(`written by ${manifest.worldSize} ranks, this job has ${worldSize} (resharding is not supported)`);
      }
      const entry = manifest.files.find((f) => f.rank === rank);
      if (!entry) throw new Error(`no shard for rank ${rank}`);
      const bytes = readFileSync(path.join(dir, entry.name));
      if (bytes.length !== entry.size) throw new Error(`${entry.name} has ${bytes.length} bytes, manifest says ${entry.size}`);
      if (sha256(bytes) !== entry.sha256) throw new Error(`${entry.name} fails its sha256 check`);
      const f = parse(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), entry.name);
      return { step, dir, manifest, tensors: f.tensors, metadata: f.metadata };
    } catch (e) {
      warn(`checkpoint ${dir} is unusable for rank ${rank}, trying the previous one: ${(e as Error).message}`);
    }
  }
  return undefined;
}

/** Puts a loaded shard back (weights, moments, biases, step, data position), then all-gathers the weights. */
export async function restoreSharded(t: Trainer, zero: Zero1, s: LoadedShard): Promise<void> {
  if (s.metadata.zero1_layout !== zero.signature) {
    throw new Error(`checkpoint ${s.dir}: rank ${zero.world.rank}'s shard was cut for holder groups ${s.metadata.zero1_layout}, ` +
      `this job's are ${zero.signature} (another model config or parallelism? resharding is not supported)`);
  }
  const need = (name: string): TensorEntry => {
    const e = s.tensors.get(name);
    if (!e) throw new Error(`checkpoint ${s.dir}: tensor ${name} is missing from rank ${zero.world.rank}'s shard`);
    return e;
  };
  for (const pc of zero.pieces) {
    const key = `${pc.name}[${pc.from}:${pc.to}]`;
    t.params.get(pc.name).data.set(asF32(need(`param.${key}`)), pc.from);
    zero.shardOpt.m.get(key)!.set(asU16(need(`optimizer.m.${key}`)));
    zero.shardOpt.v.get(key)!.set(asU16(need(`optimizer.v.${key}`)));
  }
  for (const [name, b] of t.params.buffers) b.set(asF32(need(`buffer.${name}`)));
  t.step = Number(s.metadata.step);
  t.sampler.pos = { epoch: Number(s.metadata.data_epoch), index: Number(s.metadata.data_index) };
  await zero.gatherParams();
}
