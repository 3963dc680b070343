// Sharded training checkpoints (I/O code). Every rank writes its own file in parallel — its ZeRO-1 shards (one per
// holder group, zero1.ts) of the FP32 master weights it holds and their BF16 AdamW moments, the router biases of its
// layers, the step and the data position — into
// RUN/checkpoints/step-N.partial/rank-R.safetensors (temp file, fsync, rename). The ranks then exchange their
// files' steps, sizes and sha256 (each rank hashes its file as read back from storage) over the group; rank 0 writes
// manifest.json last, only when every rank wrote the same step and every listed file is there with its size, and
// renames the directory to step-N: a step directory exists only once every shard is complete. Reading, under any
// layout, is shard-reader.ts; agreeing on the step to load is start-point.ts.
import { readFile, stat } from 'node:fs/promises';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { bytesOf, serialize, type TensorEntry } from '../checkpoint/safetensors.js';
import { checkpointsDir, prune, sha256, stepDirName } from '../checkpoint/checkpoint-dirs.js';
import type { Trainer } from '../train/trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { SHARDED_FORMAT as FORMAT, type ShardedManifest } from '../checkpoint/shard-reader.js';
import type { Zero1 } from './zero1.js';

export type { ShardedManifest } from '../checkpoint/shard-reader.js';

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
  const mineFile = path.join(partial, rankFileName(group.rank));
  await writeSynced(mineFile, bytes);
  // What storage holds now, not what we meant to write.
  const hash = sha256(await readFile(mineFile));
  if (hash !== sha256(bytes)) throw new Error(`checkpoint step ${t.step}: ${mineFile} reads back different from what was written`);
  // Step, size and hash to everyone: 8 + 8 bytes + 64 hex digits per rank.
  const mine = new Uint8Array(80);
  new DataView(mine.buffer).setFloat64(0, t.step, true);
  new DataView(mine.buffer).setFloat64(8, bytes.length, true);
  mine.set(Buffer.from(hash, 'ascii'), 16);
  const all = new Uint8Array(80 * group.size);
  await group.allgather(mine, all);
  const files = Array.from({ length: group.size }, (_, r) => {
    const dv = new DataView(all.buffer, 80 * r, 16);
    return { step: dv.getFloat64(0, true), name: rankFileName(r), rank: r, size: dv.getFloat64(8, true), sha256: Buffer.from(all.subarray(80 * r + 16, 80 * r + 80)).toString('ascii') };
  });
  const off = files.filter((f) => f.step !== t.step);
  if (off.length) {
    throw new Error(`checkpoint step ${t.step}: rank${off.length > 1 ? 's' : ''} ${off.map((f) => `${f.rank} is at step ${f.step}`).join(', ')}; ` +
      'the ranks resumed from different steps, nothing is committed');
  }
  if (group.rank === 0) {
    for (const f of files) {
      const st = await stat(path.join(partial, f.name)).catch(() => undefined);
      if (!st || st.size !== f.size) {
        throw new Error(`checkpoint step ${t.step}: ${path.join(partial, f.name)} ${st ? `has ${st.size} bytes, rank ${f.rank} wrote ${f.size}` : 'is not there'} ` +
          '(do all pods mount the same checkpoint storage?); nothing is committed');
      }
    }
    const manifest: ShardedManifest = { format: FORMAT, step: t.step, worldSize: group.size, files: files.map(({ name, rank, size, sha256: h }) => ({ name, rank, size, sha256: h })) };
    await writeSynced(path.join(partial, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2)));
    await rm(final, { recursive: true, force: true });
    await rename(partial, final);
    prune(runDir, keep);
  }
  // Nobody starts the next checkpoint (or exits) before rank 0 has committed this one.
  await group.barrier();
  return final;
}
