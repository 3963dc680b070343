// Bad arguments at every export: each must throw a JS error, never crash the process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { binding } from '../../runtime/src/native/binding.js';
import {
  combine, dispatchPlan, fp8Gemm, fp8GemmGrouped, quantizeActivations, quantizeWeights, rmsnorm, route, setKernelPath, softmax, swiglu,
} from '../../runtime/src/native/index.js';
import { rng } from './util.js';

const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);
const u16 = (n: number) => new Uint16Array(n);
const i32 = (n: number) => new Int32Array(n);

// A valid call per raw export (M=2, N=3, K=130: two K tiles, one N block).
const VALID: Record<string, () => unknown[]> = {
  encodeF32: () => [f32(4), u8(4), 0, false],
  encodeBf16: () => [u16(4), u8(4), 1, true],
  decodeF32: () => [u8(4), f32(4), 0],
  decodeBf16: () => [u8(4), u16(4), 0],
  quantAct: () => [f32(260), 2, 130, false, u8(260), f32(4)],
  quantWeight: () => [f32(390), 3, 130, true, u8(390), f32(2)],
  dequantAct: () => [u8(260), f32(4), 2, 130, f32(260)],
  dequantWeight: () => [u8(390), f32(2), 3, 130, f32(390)],
  fp8Gemm: () => [u8(260), f32(4), u8(390), f32(2), 2, 3, 130, f32(6)],
  fp8GemmGrouped: () => [u8(260), f32(4), u8(780), f32(4), Int32Array.from([0, 1, 2]), 2, 3, 130, f32(6)],
  bf16Gemm: () => [u16(260), u16(390), 2, 3, 130, f32(6)],
  packWeights: () => [u8(390), 1, 3, 130, 0],
  fp8GemmGroupedPacked: () => [u8(260), f32(4), u8(390), f32(2), Int32Array.from([0, 2]), 1, 3, 130, 0, f32(6)],
  fp8GemmEmulated: () => [u8(260), f32(4), u8(390), f32(2), 2, 3, 130, 13, 128, 32, f32(6)],
  rmsnorm: () => [f32(6), f32(3), 2, 3, 1e-6, f32(6)],
  swiglu: () => [f32(4), f32(4), f32(4)],
  softmax: () => [f32(6), 2, 3, f32(6)],
  rope: () => [f32(8), i32(2), 2, 1, 4, 10000, f32(8)],
  route: () => [f32(16), f32(8), 2, 8, 4, 2, 2, 2.5, i32(4), f32(4), i32(8)],
  routeBackward: () => [f32(16), i32(4), f32(4), 2, 8, 2, 2.5, f32(16)],
  dispatchPlan: () => [i32(4), 2, 2, 3, i32(4), i32(4), i32(4)],
  dispatchRows: () => [f32(6), 2, 3, i32(4), 2, f32(12)],
  dispatchBackward: () => [f32(12), i32(4), 2, 2, 3, f32(6)],
  combine: () => [f32(12), f32(4), i32(4), 2, 2, 3, f32(6)],
  combineBackward: () => [f32(6), f32(12), f32(4), i32(4), 2, 2, 3, f32(12), f32(4)],
  // T=2, H=1, dn=dr=dv=2, kr=4; one sequence at L=1 with n=2 new rows in an f32 cache of 3 rows x 24 bytes.
  mlaAttention: () => [f32(8), f32(8), f32(4), f32(16), [u8(72)], Int32Array.of(0), Int32Array.of(1), Int32Array.of(2), Int32Array.of(0), 2, 1, 2, 2, 2, 4, 0.5, f32(4), f32(8)],
  kvWrite: () => [u8(72), 0, 4, 2, 1, 2, f32(8), f32(4)],
  kvRead: () => [u8(36), 2, 4, 2, 1, 2, f32(12)],
  siluMulRows: () => [f32(6), 2, 3, 0, 1, 2, f32(4)],
  matmulTF64: () => [f32(6), new Float64Array(6), 2, 3, 2, f32(4)],
};
// Cache arguments may be longer than needed (capacity grows by doubling): only shorter ones are wrong.
const GROWABLE: Record<string, number[]> = { kvWrite: [0], kvRead: [0] };
// Number arguments that are real values rather than sizes (negative or fractional may be valid).
const REAL: Record<string, number[]> = { rmsnorm: [4], rope: [5], route: [7], routeBackward: [6], mlaAttention: [15] };
// Int32 arguments whose contents are indices or offsets.
const INDEX_ARGS: Array<[string, number]> = [
  ['routeBackward', 1], ['dispatchPlan', 0], ['dispatchRows', 3], ['dispatchBackward', 1], ['combine', 2], ['combineBackward', 3], ['fp8GemmGrouped', 4],
  ['fp8GemmGroupedPacked', 4], ['mlaAttention', 6], ['mlaAttention', 7], ['mlaAttention', 8], ['mlaAttention', 5],
];

function mutations(name: string, i: number, v: unknown): unknown[] {
  const common = ['x', null, undefined, {}, [1, 2]];
  if (ArrayBuffer.isView(v)) {
    const n = (v as unknown as { length: number }).length;
    const other = (GROWABLE[name] ?? []).includes(i) ? n - 1 : n + 1;
    return [...common, 3, new Int8Array(n), v instanceof Float64Array ? new Float32Array(n) : new Float64Array(n), new (v.constructor as new (k: number) => unknown)(other)];
  }
  if (typeof v === 'boolean') return [...common, 1];
  if ((REAL[name] ?? []).includes(i)) return [...common, NaN, Infinity, -Infinity, f32(1)];
  return [...common, NaN, Infinity, -1, 0.5, 2 ** 50, f32(1)];
}

type RawFn = (...a: unknown[]) => void;
const raw = () => binding() as unknown as Record<string, RawFn>;

describe('fuzz: bad arguments never crash', () => {
  it('every valid template call succeeds (sanity of the table)', () => {
    for (const [name, make] of Object.entries(VALID)) assert.doesNotThrow(() => raw()[name]!(...make()), name);
  });

  for (const [name, make] of Object.entries(VALID)) {
    it(`${name}: each argument replaced by a bad value throws an Error naming the function`, () => {
      const n = make().length;
      for (let i = 0; i < n; i++) {
        for (const bad of mutations(name, i, make()[i])) {
          const args = make();
          args[i] = bad;
          assert.throws(() => raw()[name]!(...args), (e: unknown) => e instanceof Error && e.message.startsWith(name), `${name} arg ${i} = ${String(bad)}`);
        }
      }
      for (const missing of [0, 1]) {
        assert.throws(() => raw()[name]!(...make().slice(0, missing)), Error, `${name} with ${missing} args`);
      }
      if (name !== 'packWeights') assert.throws(() => raw()[name]!(...make(), 'not a callback'), /callback/); // packWeights is sync-only
    });
  }

  it('index arrays with out-of-range contents throw', () => {
    for (const [name, i] of INDEX_ARGS) {
      for (const bad of [-1, 1_000_000]) {
        const args = make(name);
        (args[i] as Int32Array)[(args[i] as Int32Array).length - 1] = bad;
        assert.throws(() => raw()[name]!(...args), Error, `${name} arg ${i} holding ${bad}`);
      }
    }
  });

  it('2000 random argument lists only ever throw Errors', () => {
    const r = rng(99);
    const pool: Array<() => unknown> = [
      () => f32(Math.floor(r() * 20)), () => u8(Math.floor(r() * 20)), () => u16(Math.floor(r() * 20)), () => i32(Math.floor(r() * 20)).fill(Math.floor(r() * 5) - 1),
      () => Math.floor(r() * 5), () => 130, () => -3, () => NaN, () => 1e300, () => r() < 0.5, () => 'x', () => null, () => undefined, () => ({}),
    ];
    const names = Object.keys(VALID);
    let threw = 0;
    for (let c = 0; c < 2000; c++) {
      const name = names[Math.floor(r() * names.length)]!;
      const args = Array.from({ length: Math.floor(r() * 12) }, () => pool[Math.floor(r() * pool.length)]!());
      try {
        raw()[name]!(...args);
      } catch (e) {
        assert.ok(e instanceof Error, `${name} threw a non-Error`);
        threw++;
      }
    }
    assert.ok(threw > 1000, `most random calls are invalid (${threw} threw)`);
  });

  it('measurePeak rejects bad durations', () => {
    assert.throws(() => raw().measurePeak!(-1), /measurePeak: seconds must be in \(0, 10\]/);
    assert.throws(() => raw().measurePeak!('x'), /measurePeak: seconds must be a number/);
  });

  it('setKernelPath rejects unknown names', () => {
    assert.throws(() => setKernelPath('gpu' as 'avx2'), /path must be 'reference', 'avx2', 'avx512' or 'amx'/);
    assert.throws(() => raw().setKernelPath!(42), /path must be a string/);
  });

  it('wrappers reject wrong dtypes and shapes with TypeError/RangeError, and zero-size tensors work', () => {
    assert.throws(() => quantizeActivations(new Float64Array(4) as unknown as Float32Array, 2, 2), TypeError);
    assert.throws(() => quantizeWeights(f32(5), 2, 2), /w must have length 4 \(rows\*cols = 2\*2\), got 5/);
    assert.throws(() => rmsnorm(f32(4), f32(2), 2, 2, -1), /eps must be a finite number > 0/);
    assert.throws(() => dispatchPlan(i32(4), 2, 2, 0), /experts must be >= 1/);
    assert.throws(() => fp8Gemm(null as never, null as never), /a must be an Fp8Activations/);
    const z = quantizeActivations(f32(0), 0, 0);
    assert.equal(fp8Gemm(z, quantizeWeights(f32(0), 0, 0)).length, 0);
    assert.equal(fp8GemmGrouped(z, { experts: 1, rows: 2, cols: 0, q: u8(0), scaleInv: f32(0) }, Int32Array.from([0, 0])).length, 0);
    assert.equal(softmax(f32(0), 0, 5).length, 0);
    assert.equal(swiglu(f32(0), f32(0)).length, 0);
    const r = route(f32(0), f32(8), { tokens: 0, experts: 8, groups: 4, topkGroup: 2, topk: 2, scale: 1 });
    assert.deepEqual(Array.from(r.counts), new Array(8).fill(0));
    const p = dispatchPlan(i32(0), 0, 2, 8);
    assert.equal(combine(f32(0), f32(0), 4, p).length, 0);
  });
});

function make(name: string): unknown[] {
  return VALID[name]!();
}
