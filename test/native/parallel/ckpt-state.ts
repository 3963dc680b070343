// Test helpers for sharded checkpoints: the whole training state a checkpoint folder holds (every parameter, both
// AdamW moments, router biases, step, data position) assembled from its rank files, whatever layout wrote them.
import { paramSpecs } from '../../../runtime/src/parallel/held-params.js';
import { copyBuffer, copyRange, openIndex, readVerified } from '../../../runtime/src/checkpoint/shard-reader.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { fixtureOptions, microOverrides } from './train-fixture.js';

export interface WholeState { tensors: Map<string, Uint8Array>; metadata: Record<string, string>; writers: number }

export function wholeState(dir: string, step: number, layers = 2): WholeState {
  const o = fixtureOptions('fp32', 1, 4, layers);
  const spec = paramSpecs(modelConfig(o.preset, o.overrides));
  const params = spec.list().map((p) => ({ name: p.name, n: p.shape.reduce((a, b) => a * b, 1) }));
  const buffers = [...spec.buffers.keys()];
  const ck = readVerified(openIndex(step, dir), { pieces: params.map((p) => ({ name: p.name, from: 0, to: p.n })), buffers, optimizer: true, rank: 0 });
  const tensors = new Map<string, Uint8Array>();
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const p of params) {
    const w = new Float32Array(p.n), m = new Uint16Array(p.n), v = new Uint16Array(p.n);
    copyRange(ck, 'param', p.name, 0, p.n, w);
    copyRange(ck, 'optimizer.m', p.name, 0, p.n, m);
    copyRange(ck, 'optimizer.v', p.name, 0, p.n, v);
    tensors.set(p.name, bytes(w)).set(`m:${p.name}`, bytes(m)).set(`v:${p.name}`, bytes(v));
  }
  for (const b of buffers) {
    const out = new Float32Array(microOverrides.n_routed_experts);
    copyBuffer(ck, b, 0, out);
    tensors.set(`buffer:${b}`, bytes(out));
  }
  return { tensors, metadata: ck.metadata, writers: ck.index.manifest.worldSize };
}

/** The first tensor whose bytes differ, or undefined when both states are bit-for-bit the same. */
export function firstDifference(a: WholeState, b: WholeState): string | undefined {
  for (const [k, x] of a.tensors) {
    const y = b.tensors.get(k);
    if (!y || !Buffer.from(x).equals(Buffer.from(y))) return k;
  }
  if (a.tensors.size !== b.tensors.size) return `(${a.tensors.size} vs ${b.tensors.size} tensors)`;
  return undefined;
}
