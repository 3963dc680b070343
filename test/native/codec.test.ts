// FP8 codecs vs ml_dtypes: every bfloat16 pattern, a large sample of float32 patterns, all codes.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';

import { fp8DecodeBf16, fp8DecodeF32, fp8Encode, type Fp8Format } from '../../runtime/src/native/index.js';
import { nonGemmPaths, withPath } from './paths.js';
import { asU16, asU8, asF32, firstBitMismatch, fp8Value, oracle, rng } from './util.js';

const FORMATS: Fp8Format[] = ['e4m3', 'e5m2'];

/** Float32 inputs that stress rounding: fp8 values, their midpoints and neighbours, specials, random bits. */
function f32Sample(): Float32Array {
  const vals: number[] = [0, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 1.1754942106924411e-38];
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  const around = (v: number) => {
    f[0] = v;
    const b = u[0]!;
    for (const d of [-2, -1, 0, 1, 2]) {
      u[0] = (b + d) >>> 0;
      vals.push(f[0]!, -f[0]!);
    }
  };
  for (const fmt of FORMATS) {
    const finite = Array.from({ length: 128 }, (_, c) => fp8Value(c, fmt)).filter(Number.isFinite);
    for (let i = 0; i < finite.length; i++) {
      around(finite[i]!);
      if (i + 1 < finite.length) around((finite[i]! + finite[i + 1]!) / 2);
    }
    const max = finite[finite.length - 1]!;
    for (const v of [max * 1.0625, max * 1.125, max * 1.25, max * 2]) around(v);
  }
  const r = rng(1);
  const out = new Float32Array(vals.length + 1_000_000 + 400_000);
  out.set(vals);
  const ou = new Uint32Array(out.buffer);
  let i = vals.length;
  for (let j = 0; j < 1_000_000; j++) ou[i++] = Math.floor(r() * 2 ** 32) >>> 0;
  for (let j = 0; j < 400_000; j++) out[i++] = (r() < 0.5 ? -1 : 1) * (1 + r()) * 2 ** Math.floor(r() * 44 - 26);
  return out;
}

describe('FP8 codecs vs ml_dtypes', () => {
  let sample: Float32Array;
  let allBf16: Uint16Array;
  before(() => {
    sample = f32Sample();
    allBf16 = Uint16Array.from({ length: 65536 }, (_, i) => i);
  });

  for (const path of nonGemmPaths()) {
    for (const fmt of FORMATS) {
      for (const saturate of [false, true]) {
        it(`${path}: ${fmt} encode from every bfloat16 pattern (saturate=${saturate}) is bit-exact`, () => {
          const want = asU8(oracle('encode', ['bf16', fmt, saturate ? '1' : '0'], [allBf16], 1)[0]!);
          const got = withPath(path, () => fp8Encode(allBf16, { format: fmt, saturate }));
          const i = firstBitMismatch(got, want);
          assert.equal(i, -1, `bf16 0x${allBf16[i]?.toString(16)}: got 0x${got[i]?.toString(16)}, ml_dtypes 0x${want[i]?.toString(16)}`);
        });

        it(`${path}: ${fmt} encode from ${'1.4M'} float32 patterns (saturate=${saturate}) is bit-exact`, () => {
          const want = asU8(oracle('encode', ['f32', fmt, saturate ? '1' : '0'], [sample], 1)[0]!);
          const got = withPath(path, () => fp8Encode(sample, { format: fmt, saturate }));
          const i = firstBitMismatch(got, want);
          const bits = i >= 0 ? new Uint32Array(sample.buffer)[i]!.toString(16) : '';
          assert.equal(i, -1, `f32 0x${bits} (${sample[i]}): got 0x${got[i]?.toString(16)}, ml_dtypes 0x${want[i]?.toString(16)}`);
        });
      }

      it(`${path}: ${fmt} decode of all 256 codes to float32 and bfloat16 is bit-exact`, () => {
        const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
        const [wf, wb] = [asF32(oracle('decode', [fmt, 'f32'], [codes], 1)[0]!), asU16(oracle('decode', [fmt, 'bf16'], [codes], 1)[0]!)];
        const gf = withPath(path, () => fp8DecodeF32(codes, fmt));
        const gb = withPath(path, () => fp8DecodeBf16(codes, fmt));
        const fi = firstBitMismatch(new Uint32Array(gf.buffer), new Uint32Array(wf.buffer));
        assert.equal(fi, -1, `f32 decode of 0x${fi.toString(16)}: got ${gf[fi]}, ml_dtypes ${wf[fi]}`);
        const bi = firstBitMismatch(gb, wb);
        assert.equal(bi, -1, `bf16 decode of 0x${bi.toString(16)}: got 0x${gb[bi]?.toString(16)}, ml_dtypes 0x${wb[bi]?.toString(16)}`);
      });
    }
  }

  it('hand-checked E4M3 values: 448 max, 464 ties to 448, 480 overflows to NaN, 2^-10 ties to zero', () => {
    const got = fp8Encode(new Float32Array([448, 464, 480, -480, 2 ** -9, 2 ** -10, 3 * 2 ** -10, Infinity]));
    assert.deepEqual(Array.from(got), [0x7e, 0x7e, 0x7f, 0xff, 0x01, 0x00, 0x02, 0x7f]);
    const sat = fp8Encode(new Float32Array([480, -1e9, Infinity, NaN]), { saturate: true });
    assert.deepEqual(Array.from(sat), [0x7e, 0xfe, 0x7e, 0x7f]);
  });

  it('hand-checked E5M2 values: 57344 max, 61440 ties to inf when not saturating', () => {
    const got = fp8Encode(new Float32Array([57344, 61440, 61439, -Infinity]), { format: 'e5m2' });
    assert.deepEqual(Array.from(got), [0x7b, 0x7c, 0x7b, 0xfc]);
  });
});
