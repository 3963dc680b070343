// Where the engine's forward time goes, on peer.bench.ts's model (deepseek-v3-tiny, byte vocabulary, random weights,
// fp8, bf16 cache, 1 kernel thread): every native call is timed by binding (GEMMs, attention, activation
// quantisation, the row kernels, the MoE gate) and the rest of the step is JavaScript (glue, routing, RoPE, GC).
// Cases: prefill 8 × 128 and 1 × 128, decode batch 1 / 8 / 32 (InferenceModel.run on its own, caches cut back after
// each step). Then a drafting decode step's parts at batch 1 and 8 (speculative decoding, engine.ts): the plain
// one-token forward, the verify forward over 2 tokens per sequence (all rows and hidden states), and the MTP
// drafter over 1 and 2 entries per sequence. Shares are of wall time, so a busy machine's preemption is spread over
// them; ms per step are process CPU time (1 kernel thread), which a busy machine moves less. Writes
// bench/results/serve-breakdown.json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeExport } from '../../runtime/src/checkpoint/export.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { buildParams } from '../../runtime/src/model/transformer.js';
import { binding } from '../../runtime/src/native/binding.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { InferenceModel } from '../../runtime/src/serve/engine/inference-model.js';
import { loadModelFolder } from '../../runtime/src/serve/engine/load.js';
import { writeResult } from '../plan/common.js';

process.env.MOE_NUM_THREADS = '1';
const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
const tmp = mkdtempSync(path.join(tmpdir(), 'moe-serve-breakdown-'));
const P = buildParams(c, alloc32, new Rng(1));
const dir = path.join(tmp, 'model');
writeExport(dir, c, new Map([...P.list().map((p) => [p.name, p.data as Float32Array] as const), ...[...P.buffers].map(([n, b]) => [n, b as Float32Array] as const)]), { tokenizer: byteTokenizer.toJSON(), maxPositions: 1024 });
const loaded = loadModelFolder(dir);
const m = new InferenceModel(loaded.config, loaded.weights, 'fp8');
m.kvCache = 'bf16';

// Every native call timed by name.
const spent = new Map<string, number>();
const raw = binding() as unknown as Record<string, unknown>;
for (const k of Object.keys(raw)) {
  const f = raw[k];
  if (typeof f !== 'function') continue;
  raw[k] = (...a: unknown[]) => {
    const t0 = performance.now();
    try {
      return (f as (...x: unknown[]) => unknown)(...a);
    } finally {
      spent.set(k, (spent.get(k) ?? 0) + performance.now() - t0);
    }
  };
}
const GROUPS: Record<string, string[]> = {
  gemm: ['fp8GemmGroupedPacked', 'bf16Gemm'],
  attention: ['mlaAttention'],
  quantisation: ['quantAct'],
  rowKernels: ['rmsnormRows', 'addRows', 'gatherPairRows', 'moeCombineRows', 'siluMulRows'],
  gate: ['matmulTF64'],
};
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rnd = new Rng(3);
const toks = (n: number) => Int32Array.from({ length: n }, () => rnd.int(256));

function measure(name: string, step: () => void, n: number): Record<string, number | string> {
  for (let i = 0; i < 3; i++) step();
  spent.clear();
  const w0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < n; i++) step();
  const wall = performance.now() - w0;
  const out: Record<string, number | string> = { case: name, msPerStep: +((cpuMs() - c0) / n).toFixed(3) };
  let native = 0;
  for (const [g, ks] of Object.entries(GROUPS)) {
    const v = ks.reduce((s, k) => s + (spent.get(k) ?? 0), 0);
    native += v;
    out[g] = +(v / wall).toFixed(3);
  }
  const grouped = new Set(Object.values(GROUPS).flat());
  const other = [...spent].filter(([k]) => !grouped.has(k)).reduce((s, [, v]) => s + v, 0);
  out.otherNative = +(other / wall).toFixed(3);
  out.javascript = +((wall - native - other) / wall).toFixed(3);
  console.log(`${name}: ${out.msPerStep} ms/step; ${Object.keys(GROUPS).map((g) => `${g} ${Math.round(100 * (out[g] as number))}%`).join(', ')}, JavaScript ${Math.round(100 * (out.javascript as number))}%`);
  return out;
}

const steps: Record<string, number | string>[] = [];
for (const C of [8, 1]) steps.push(measure(`prefill ${C}×128`, () => void m.run(Array.from({ length: C }, () => ({ cache: m.newCache(140), tokens: toks(128) }))), C === 8 ? 15 : 60));
const decodeCaches = (B: number) => {
  const cs = Array.from({ length: B }, () => m.newCache(200));
  m.run(cs.map((cache) => ({ cache, tokens: toks(32) })));
  return cs;
};
for (const B of [1, 8, 32]) {
  const cs = decodeCaches(B);
  steps.push(measure(`decode batch ${B}`, () => {
    m.run(cs.map((cache) => ({ cache, tokens: toks(1) })));
    for (const x of cs) x.length -= 1;
  }, B === 1 ? 400 : 150));
}

// A drafting step's parts (the drafter's entries use a stand-in hidden state: the cost, not the drafts, is measured).
const d = c.hidden_size;
const mtp = m.mtp!;
const drafting: Record<string, number>[] = [];
for (const B of [1, 8]) {
  const cs = decodeCaches(B);
  const ms = cs.map(() => mtp.newCache(200));
  mtp.forward(ms.map((cache) => ({ cache, hidden: new Float32Array(31 * d).fill(0.1), tokens: toks(31) })));
  const time = (f: () => void, n: number): number => {
    for (let i = 0; i < 5; i++) f();
    const t0 = cpuMs();
    for (let i = 0; i < n; i++) f();
    return (cpuMs() - t0) / n;
  };
  const N = B === 1 ? 400 : 150;
  const plain = time(() => {
    m.run(cs.map((cache) => ({ cache, tokens: toks(1) })));
    for (const x of cs) x.length -= 1;
  }, N);
  const verify = time(() => {
    m.run(cs.map((cache) => ({ cache, tokens: toks(2) })), undefined, { all: true, hidden: true });
    for (const x of cs) x.length -= 2;
  }, N);
  const draft = (k: number) => time(() => {
    mtp.forward(ms.map((cache) => ({ cache, hidden: new Float32Array(k * d).fill(0.1), tokens: toks(k) })));
    for (const x of ms) x.length -= k;
  }, N);
  const draft1 = draft(1), draft2 = draft(2);
  const r = { batch: B, plainMs: +plain.toFixed(3), verify2Ms: +verify.toFixed(3), drafter1Ms: +draft1.toFixed(3), drafter2Ms: +draft2.toFixed(3) };
  drafting.push(r);
  console.log(`drafting step parts, batch ${B}: plain forward ${r.plainMs} ms, verify over 2 tokens ${r.verify2Ms} ms, drafter 1 entry ${r.drafter1Ms} ms, 2 entries ${r.drafter2Ms} ms: a drafting step costs ${((verify + draft2) / plain).toFixed(2)}–${((verify + draft1) / plain).toFixed(2)}× a plain one`);
}
rmSync(tmp, { recursive: true, force: true });
console.log(`wrote ${writeResult('serve-breakdown', { kernels: kernelInfo(), threads: 1, steps, drafting })}`);
