// The training checkpoint's content: train_state.safetensors (FP32 master weights under their model names, BF16
// AdamW moments under optimizer.m./optimizer.v., router biases F32, the sampler position and step in __metadata__),
// plus config.json, train.json and tokenizer.json. snapshot() copies, so saving can run in the background.
import { asF32, asU16, bytesOf, parse, serialize, type TensorEntry } from '../checkpoint/safetensors.js';
import type { CkptFile } from '../checkpoint/checkpoint-dirs.js';
import type { Trainer } from './trainer.js';

export const STATE_FILE = 'train_state.safetensors';
const FORMAT = 'moe-runtime-train/1';

function copyBytes(a: ArrayBufferView): Uint8Array {
  return Uint8Array.from(bytesOf(a));
}

export function snapshot(t: Trainer): CkptFile[] {
  const entries: TensorEntry[] = [];
  for (const p of t.params.list()) {
    if (!(p.data instanceof Float32Array)) throw new Error('checkpoints hold float32 master weights');
    entries.push({ name: p.name, dtype: 'F32', shape: p.shape, data: copyBytes(p.data) });
    entries.push({ name: `optimizer.m.${p.name}`, dtype: 'BF16', shape: p.shape, data: copyBytes(t.opt.m.get(p.name)!) });
    entries.push({ name: `optimizer.v.${p.name}`, dtype: 'BF16', shape: p.shape, data: copyBytes(t.opt.v.get(p.name)!) });
  }
  for (const [name, b] of t.params.buffers) entries.push({ name, dtype: 'F32', shape: [b.length], data: copyBytes(b) });
  const metadata = {
    format: FORMAT,
    step: String(t.step),
    data_epoch: String(t.sampler.pos.epoch),
    data_index: String(t.sampler.pos.index),
  };
  return [
    { name: STATE_FILE, bytes: serialize(entries, metadata) },
    { name: 'config.json', bytes: Buffer.from(JSON.stringify(t.config, null, 2)) },
    { name: 'train.json', bytes: Buffer.from(JSON.stringify(t.options, null, 2)) },
    { name: 'tokenizer.json', bytes: Buffer.from(JSON.stringify(t.tokenizer.toJSON())) },
  ];
}

/** Loads a verified checkpoint's files into a trainer built with the same options. */
export function restore(t: Trainer, files: Map<string, Uint8Array>): void {
  const cfg = files.get('config.json');
  if (cfg) {
    const saved = JSON.parse(Buffer.from(cfg).toString('utf8'));
    if (JSON.stringify(saved) !== JSON.stringify(t.config)) throw new Error('the checkpoint was written for a different model config than this run (compare config.json); start a new --run-dir or use the same preset/overrides');
  }
  const raw = files.get(STATE_FILE);
  if (!raw) throw new Error(`checkpoint lacks ${STATE_FILE}`);
  const f = parse(raw, STATE_FILE);
  if (f.metadata.format !== FORMAT) throw new Error(`${STATE_FILE}: format ${f.metadata.format} is not ${FORMAT}`);
  const need = (name: string): TensorEntry => {
    const e = f.tensors.get(name);
    if (!e) throw new Error(`${STATE_FILE}: tensor ${name} is missing`);
    return e;
  };
  for (const p of t.params.list()) {
    p.data.set(asF32(need(p.name)));
    t.opt.m.get(p.name)!.set(asU16(need(`optimizer.m.${p.name}`)));
    t.opt.v.get(p.name)!.set(asU16(need(`optimizer.v.${p.name}`)));
  }
  for (const [name, b] of t.params.buffers) b.set(asF32(need(name)));
  t.step = Number(f.metadata.step);
  t.sampler.pos = { epoch: Number(f.metadata.data_epoch), index: Number(f.metadata.data_index) };
}

/** Only the weights (for generation): name → float32 array. */
export function readWeights(raw: Uint8Array): Map<string, Float32Array> {
  const f = parse(raw, STATE_FILE);
  const out = new Map<string, Float32Array>();
  for (const [name, e] of f.tensors) if (e.dtype === 'F32' && !name.startsWith('optimizer.')) out.set(name, asF32(e));
  return out;
}

/** The weights a trainer holds now (master weights and router biases) by model name: what an export writes. */
export function liveWeights(t: Trainer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of t.params.list()) {
    if (!(p.data instanceof Float32Array)) throw new Error('exports are made from float32 master weights');
    out.set(p.name, p.data);
  }
  for (const [name, b] of t.params.buffers) out.set(name, Float32Array.from(b));
  return out;
}
