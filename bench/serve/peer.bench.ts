// The serving engine against transformers' DeepseekV3ForCausalLM with its KV cache (torch from PyPI, the peer users
// can install; DeepSeek's inference/model.py is not on PyPI), on the same model: the deepseek-v3-tiny preset with a
// byte vocabulary, random weights exported once (FP8 blocks) and loaded by both sides (transformers dequantises to
// float32; the engine multiplies the FP8 codes). Same threads (BENCH_PEER_THREADS, default 1: MOE_NUM_THREADS and
// torch.set_num_threads), same batch, same prompts, greedy. Rounds alternate which side runs first.
//   decode B (1, 8, 32): B prompts of 32 tokens prefilled (not timed), then BENCH_PEER_STEPS (32) decode steps for
//     all B together: tokens/s wall and per process CPU-second;
//   prefill C×128 (1, 8): C prompts in one batched forward (the engine samples each first token; transformers keeps
//     the last position's logits): prompt tokens/s.
// Also: a STREAM-like copy bandwidth and the bytes one decode token reads at batch 1 (weights + cache), i.e. the
// memory-bandwidth bound. Writes bench/results/serve-peer.json. BENCH_PEER_PRECISION (fp8), BENCH_PEER_KV (the
// engine's cache: bf16 | fp8 | f32), BENCH_PEER_ROUNDS (3).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { writeExport } from '../../runtime/src/checkpoint/export.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { isMoeLayer, modelConfig } from '../../runtime/src/model/config.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { buildParams } from '../../runtime/src/model/transformer.js';
import { kernelInfo, type KvCacheType } from '../../runtime/src/native/index.js';
import { rowBytes } from '../../runtime/src/serve/engine/kv-cache.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { findPython } from '../../test/util/python.js';
import { repoRoot, writeResult } from '../plan/common.js';

const THREADS = Number(process.env.BENCH_PEER_THREADS ?? 1);
process.env.MOE_NUM_THREADS = String(THREADS);
const precision = (process.env.BENCH_PEER_PRECISION ?? 'fp8') as 'fp8' | 'bf16' | 'fp32';
const kv = (process.env.BENCH_PEER_KV ?? (precision === 'fp32' ? 'f32' : 'bf16')) as KvCacheType;
const STEPS = Number(process.env.BENCH_PEER_STEPS ?? 32);
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const PROMPT = 32;
const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
const rnd = new Rng(2);
const prompts = (n: number, len: number): number[][] => Array.from({ length: n }, () => Array.from({ length: len }, () => rnd.int(256)));

const py = findPython([process.env.MOE_TORCH_PYTHON, process.env.MOE_PYTHON, 'python3'], ['torch', 'transformers']);
if (!py) {
  console.log(`wrote ${writeResult('serve-peer', { skipped: 'no python with torch and transformers: set MOE_TORCH_PYTHON (bench/interop/requirements-peer.txt says how)' })}`);
  process.exit(0);
}

interface Timing { wall: number; cpu: number }

/** The transformers side: one long-lived process answering a JSON line per command. */
class Peer {
  private readonly lines: AsyncIterator<string>;
  private readonly proc;
  constructor(dir: string) {
    this.proc = spawn(py!, [path.join(repoRoot, 'bench/serve/hf_serve_peer.py'), dir, String(THREADS)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: String(THREADS) } });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async recv(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error('the transformers peer exited');
    return JSON.parse(r.value) as Record<string, unknown>;
  }
  async call(cmd: Record<string, unknown>): Promise<Timing & { tokens?: number[][] }> {
    this.proc.stdin.write(JSON.stringify({ ...cmd, vocab: 256 }) + '\n');
    return (await this.recv()) as unknown as Timing & { tokens?: number[][] };
  }
  close(): void {
    this.proc.stdin.end();
  }
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const greedy = (maxTokens: number) => ({ maxTokens, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] });

/** B sequences prefilled together, then timed from the moment all have their first token to the last decode step. */
async function oursDecode(e: Engine, ps: number[][]): Promise<Timing & { tokens: number[][] }> {
  let first = 0;
  let w0 = 0;
  let c0 = 0;
  const toks = ps.map(() => [] as number[]);
  await Promise.all(ps.map((p, i) => e.generate({ id: `d${i}`, promptIds: Int32Array.from(p), params: greedy(STEPS + 1) }, (t) => {
    toks[i].push(t);
    if (toks[i].length === 1 && ++first === ps.length) {
      w0 = performance.now();
      c0 = cpuSeconds();
    }
  })));
  return { wall: (performance.now() - w0) / 1000, cpu: cpuSeconds() - c0, tokens: toks };
}

async function oursPrefill(e: Engine, ps: number[][]): Promise<Timing> {
  const w0 = performance.now();
  const c0 = cpuSeconds();
  await Promise.all(ps.map((p, i) => e.generate({ id: `p${i}`, promptIds: Int32Array.from(p), params: greedy(1) }, () => {})));
  return { wall: (performance.now() - w0) / 1000, cpu: cpuSeconds() - c0 };
}

/** A STREAM-like copy: GB/s of bytes read + written by a 256 MiB typed-array copy (best of 5). */
function copyBandwidth(): number {
  const n = 32 << 20;
  const a = new Float64Array(n).fill(1);
  const b = new Float64Array(n);
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    b.set(a);
    best = Math.max(best, (2 * 8 * n) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return best;
}

/** Bytes one batch-1 decode token reads: every weight it multiplies (in the engine's storage) and its cache rows. */
function bytesPerToken(positions: number): { weights: number; cache: number } {
  const d = c.hidden_size, H = c.num_attention_heads, dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dv = c.v_head_dim, kr = c.kv_lora_rank;
  const wb = precision === 'fp8' ? 1 : precision === 'bf16' ? 2 : 4;
  let w = d * 4 + c.vocab_size * d * (precision === 'fp32' ? 4 : 2);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const attn = (c.q_lora_rank > 0 ? d * c.q_lora_rank + c.q_lora_rank * H * (dn + dr) : d * H * (dn + dr)) + d * (kr + dr) + d * H * dv;
    w += attn * wb + H * (dn + dv) * kr * 4; // kv_b is read in float32 by the attention kernel
    if (isMoeLayer(c, l)) w += c.n_routed_experts * d * 4 + (c.n_shared_experts + c.num_experts_per_tok) * 3 * d * c.moe_intermediate_size * wb;
    else w += 3 * d * c.intermediate_size * wb;
  }
  return { weights: w, cache: c.num_hidden_layers * positions * rowBytes(kv, kr, c.qk_rope_head_dim) };
}

const tmp = mkdtempSync(path.join(tmpdir(), 'moe-serve-peer-'));
const P = buildParams(c, alloc32, new Rng(1));
const weights = new Map([...P.list().map((p) => [p.name, p.data as Float32Array] as const), ...[...P.buffers].map(([n, b]) => [n, b as Float32Array] as const)]);
const dir = path.join(tmp, 'model');
writeExport(dir, c, weights, { tokenizer: byteTokenizer.toJSON(), maxPositions: 1024 });
const peer = new Peer(dir);
const hello = await peer.recv();
console.log(`peer ready: torch ${String(hello.torch)}, ${String(hello.threads)} thread(s)`);

interface Case { name: string; kind: 'decode' | 'prefill'; batch: number; len: number }
const cases: Case[] = [
  { name: 'decode batch 1', kind: 'decode', batch: 1, len: PROMPT },
  { name: 'decode batch 8', kind: 'decode', batch: 8, len: PROMPT },
  { name: 'decode batch 32', kind: 'decode', batch: 32, len: PROMPT },
  { name: 'prefill 1×128', kind: 'prefill', batch: 1, len: 128 },
  { name: 'prefill 8×128', kind: 'prefill', batch: 8, len: 128 },
];
const engines = new Map<number, Engine>();
async function engineFor(B: number): Promise<Engine> {
  let e = engines.get(B);
  if (!e) {
    e = await Engine.load(dir, { maxBatch: B, maxQueue: B, precision, maxSequenceLength: 1024, maxPrefillTokens: 8 * 128 });
    e.model.kvCache = kv;
    // Warm-up: JIT and packing.
    await oursDecode(e, prompts(B, PROMPT));
    engines.set(B, e);
  }
  return e;
}
await peer.call({ op: 'decode', prompts: prompts(1, PROMPT), steps: 4 }); // warm-up

const results = new Map<string, { ours: Timing[]; peer: Timing[]; tokens: number; sameTokens: number; compared: number }>();
for (let r = 0; r < ROUNDS; r++) {
  for (const cs of cases) {
    const ps = prompts(cs.batch, cs.len);
    const e = await engineFor(cs.batch);
    const acc = results.get(cs.name) ?? { ours: [], peer: [], tokens: cs.kind === 'decode' ? cs.batch * STEPS : cs.batch * cs.len, sameTokens: 0, compared: 0 };
    results.set(cs.name, acc);
    const runOurs = async (): Promise<number[][] | undefined> => {
      if (cs.kind === 'prefill') {
        acc.ours.push(await oursPrefill(e, ps));
        return undefined;
      }
      const o = await oursDecode(e, ps);
      acc.ours.push(o);
      return o.tokens;
    };
    const runPeer = async (): Promise<number[][] | undefined> => {
      const t = await peer.call({ op: cs.kind, prompts: ps, steps: STEPS });
      acc.peer.push(t);
      return t.tokens;
    };
    let ours: number[][] | undefined, theirs: number[][] | undefined;
    if (r % 2 === 0) {
      ours = await runOurs();
      theirs = await runPeer();
    } else {
      theirs = await runPeer();
      ours = await runOurs();
    }
    // Greedy tokens of both sides (the engine's first token comes from the prefill, as the peer's tokens[0]).
    if (ours && theirs) {
      for (let i = 0; i < cs.batch; i++) for (let s = 0; s <= STEPS; s++) {
        acc.compared++;
        if (ours[i][s] === theirs[s][i]) acc.sameTokens++;
      }
    }
  }
}
peer.close();
for (const e of engines.values()) await e.close();

const med = (xs: number[]): number => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const table = cases.map((cs) => {
  const a = results.get(cs.name)!;
  const ow = med(a.ours.map((t) => a.tokens / t.wall)), oc = med(a.ours.map((t) => a.tokens / t.cpu));
  const pw = med(a.peer.map((t) => a.tokens / t.wall)), pc = med(a.peer.map((t) => a.tokens / t.cpu));
  return {
    case: cs.name, tokens: a.tokens,
    ours: { tokensPerSec: +ow.toFixed(1), tokensPerCpuSec: +oc.toFixed(1) },
    peer: { tokensPerSec: +pw.toFixed(1), tokensPerCpuSec: +pc.toFixed(1) },
    ratioWall: +(ow / pw).toFixed(2), ratioCpu: +(oc / pc).toFixed(2),
    ...(a.compared ? { sameGreedyTokens: +(a.sameTokens / a.compared).toFixed(3) } : {}),
  };
});
for (const t of table) console.log(`${t.case}: engine ${t.ours.tokensPerSec} tok/s (${t.ours.tokensPerCpuSec}/CPU-s), transformers ${t.peer.tokensPerSec} (${t.peer.tokensPerCpuSec}/CPU-s): ×${t.ratioWall} wall, ×${t.ratioCpu} per CPU-s${t.sameGreedyTokens !== undefined ? `, same greedy tokens ${t.sameGreedyTokens}` : ''}`);

/**
 * The cache formats' accuracy on this model: one token sequence (a 32-token prefill, 16 decode steps) through the
 * fp32 engine (the cache is then the only rounding) with each cache; logits vs the f32 cache's, relative to max |logit|.
 */
async function cacheAccuracy(): Promise<Record<string, { max: number; mean: number }>> {
  const e = await Engine.load(dir, { maxBatch: 1, maxQueue: 1, precision: 'fp32' });
  const m = e.model;
  const ids = Int32Array.from(prompts(1, 48)[0]);
  const V = c.vocab_size;
  const run = (t: KvCacheType): Float32Array => {
    const cache = m.newCache(4, t);
    const out = new Float32Array(17 * V);
    out.set(m.forward([{ cache, tokens: ids.subarray(0, 32) }]), 0);
    for (let i = 32; i < 48; i++) out.set(m.forward([{ cache, tokens: ids.subarray(i, i + 1) }]), (i - 31) * V);
    return out;
  };
  const ref = run('f32');
  const res: Record<string, { max: number; mean: number }> = {};
  for (const t of ['bf16', 'fp8'] as const) {
    const a = run(t);
    let mx = 0, sum = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      mx = Math.max(mx, Math.abs(a[i] - ref[i]));
      sum += Math.abs(a[i] - ref[i]);
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    res[t] = { max: +(mx / scale).toExponential(3), mean: +(sum / a.length / scale).toExponential(3) };
  }
  await e.close();
  return res;
}
const accuracy = await cacheAccuracy();
rmSync(tmp, { recursive: true, force: true });
console.log(`cache accuracy (fp32 engine, logits vs the f32 cache, / max |logit|): bf16 max ${accuracy.bf16.max} mean ${accuracy.bf16.mean}; fp8 max ${accuracy.fp8.max} mean ${accuracy.fp8.mean}`);

const bw = copyBandwidth();
const positions = PROMPT + STEPS / 2;
const bytes = bytesPerToken(positions);
const b1 = table[0].ours.tokensPerSec;
const boundTps = (bw * 1e9) / (bytes.weights + bytes.cache);
console.log(`memory: copy ${bw.toFixed(1)} GB/s; a batch-1 token reads ${(bytes.weights / 1e6).toFixed(2)} MB of weights + ${(bytes.cache / 1e3).toFixed(1)} kB of cache → bound ${boundTps.toFixed(0)} tok/s; engine ${b1} tok/s = ${((100 * b1) / boundTps).toFixed(1)}% of it`);

console.log(`wrote ${writeResult('serve-peer', {
  model: 'deepseek-v3-tiny, vocab 256 (random init), one export loaded by both',
  cpu: cpus()[0]?.model,
  loadAverage: +loadavg()[0].toFixed(2),
  threads: THREADS,
  engine: { precision, kvCache: kv, kernels: kernelInfo() },
  peer: { name: "transformers DeepseekV3ForCausalLM (float32, DynamicCache)", torch: hello.torch },
  promptTokens: PROMPT, decodeSteps: STEPS, rounds: ROUNDS,
  results: table,
  kvCacheAccuracy: { how: 'fp32 engine, 32-token prefill + 16 decode steps, |Δlogit| vs the f32 cache / max |logit|; MoE layers: a random model\'s near-tied expert scores flip, so max is dominated by flips (test/native/serve/engine-kv-cache.test.ts measures an all-dense model)', ...accuracy },
  memoryBound: {
    copyGBps: +bw.toFixed(2), weightBytesPerToken: bytes.weights, cacheBytesPerToken: bytes.cache, cachePositions: positions,
    boundTokensPerSec: +boundTps.toFixed(0), engineBatch1TokensPerSec: b1, fractionOfBound: +(b1 / boundTps).toFixed(4),
  },
})}`);
