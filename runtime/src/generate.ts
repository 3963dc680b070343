// Greedy generation from a run's latest good checkpoint (full recompute per token: the tiny model needs no cache).
import { modelConfig } from './model/config.js';
import { buildParams, step } from './model/transformer.js';
import { Rng } from './model/rng.js';
import { alloc32 } from './model/tensor.js';
import { loadLatest } from './checkpoint/checkpoint-dirs.js';
import { tokenizerFromJSON } from './data/tokenizer.js';
import { readWeights, STATE_FILE } from './train/state.js';
import { precisionCtx, type Precision } from './model/precision.js';
import type { TrainOptions } from './train/options.js';

export function generate(runDir: string, prompt: string, maxTokens: number, precision: Precision = 'bf16', warn: (m: string) => void = () => {}): string {
  const ck = loadLatest(runDir, warn);
  if (!ck) throw new Error(`${runDir} has no usable checkpoint; train first (moe-runtime train --run-dir ${runDir})`);
  const opts = JSON.parse(Buffer.from(ck.files.get('train.json')!).toString()) as TrainOptions;
  const tok = tokenizerFromJSON(JSON.parse(Buffer.from(ck.files.get('tokenizer.json')!).toString()));
  const c = modelConfig(opts.preset, opts.overrides);
  const P = buildParams(c, alloc32, new Rng(0));
  const w = readWeights(ck.files.get(STATE_FILE)!);
  for (const p of P.list()) {
    const v = w.get(p.name);
    if (!v) throw new Error(`checkpoint lacks ${p.name}`);
    p.data.set(v);
  }
  for (const [name, b] of P.buffers) b.set(w.get(name) ?? b);
  const ctx = precisionCtx(precision);
  const ids = Array.from(tok.encode(prompt));
  if (ids.length === 0) throw new Error('--prompt must not be empty');
  const D = c.num_nextn_predict_layers;
  for (let n = 0; n < maxTokens; n++) {
    const ctxIds = ids.slice(-opts.seqLen);
    const S = ctxIds.length;
    // The model step wants targets too; pad with zeros (their losses are ignored).
    const window = Int32Array.from([...ctxIds, ...new Array(1 + D).fill(0)]);
    const r = step(ctx, P, c, window, 1, S, { alpha: 0, mtpLambda: 0, backward: false });
    const V = c.vocab_size;
    let best = 0;
    // Only ids the tokenizer can decode (a BPE may define fewer than vocab_size).
    for (let v = 1; v < Math.min(V, tok.vocabSize); v++) if (r.logits[(S - 1) * V + v] > r.logits[(S - 1) * V + best]) best = v;
    ids.push(best);
  }
  return tok.decode(ids);
}
