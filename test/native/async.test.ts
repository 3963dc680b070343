// AsyncWorker variants: same results as the sync calls, the event loop keeps running, errors reject.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  bf16Gemm, bf16GemmAsync, f32ToBf16, fp8Encode, fp8EncodeAsync, fp8Gemm, fp8GemmAsync, fp8GemmGrouped, fp8GemmGroupedAsync,
  quantizeActivations, quantizeActivationsAsync, quantizeWeights, quantizeWeightsAsync, route, routeAsync, type RouterConfig,
} from '../../runtime/src/native/index.js';
import { randn, rng } from './util.js';

describe('async variants', () => {
  it('give bit-identical results to the sync calls, also when many run at once', async () => {
    const r = rng(5);
    const M = 64, N = 96, K = 300;
    const x = randn(M * K, r), w = randn(N * K, r, 0.1);
    const [a, b] = await Promise.all([quantizeActivationsAsync(x, M, K), quantizeWeightsAsync(w, N, K, { pow2: true })]);
    assert.deepEqual(a, quantizeActivations(x, M, K));
    assert.deepEqual(b, quantizeWeights(w, N, K, { pow2: true }));
    const results = await Promise.all([fp8GemmAsync(a, b), fp8GemmAsync(a, b, 'bf16'), fp8GemmAsync(a, b)]);
    assert.deepEqual(results[0], fp8Gemm(a, b));
    assert.deepEqual(results[1], fp8Gemm(a, b, 'bf16'));
    assert.deepEqual(results[2], results[0]);
    const offsets = Int32Array.from([0, 20, 20, 64]);
    const experts = { experts: 3, rows: N, cols: K, q: new Uint8Array(3 * N * K), scaleInv: new Float32Array(3 * b.scaleInv.length) };
    for (let e = 0; e < 3; e++) { experts.q.set(b.q, e * N * K); experts.scaleInv.set(b.scaleInv, e * b.scaleInv.length); }
    assert.deepEqual(await fp8GemmGroupedAsync(a, experts, offsets), fp8GemmGrouped(a, experts, offsets));
    const ab = f32ToBf16(x), bb = f32ToBf16(w);
    assert.deepEqual(await bf16GemmAsync(ab, bb, M, N, K), bf16Gemm(ab, bb, M, N, K));
    assert.deepEqual(await fp8EncodeAsync(x, { format: 'e5m2' }), fp8Encode(x, { format: 'e5m2' }));
    const cfg: RouterConfig = { tokens: 128, experts: 64, groups: 8, topkGroup: 4, topk: 6, scale: 2.5 };
    const logits = randn(128 * 64, r), bias = randn(64, r, 0.01);
    assert.deepEqual(await routeAsync(logits, bias, cfg), route(logits, bias, cfg));
  });

  it('a large GEMM runs off the main thread: the event loop turns before it resolves', async () => {
    const r = rng(6);
    const M = 512, N = 1024, K = 2048;
    const a = quantizeActivations(randn(M * K, r), M, K), b = quantizeWeights(randn(N * K, r), N, K);
    // Order, not timing (the machine may be busy): a call that did the work on the main thread would hand back a
    // settled promise, and its continuation (a microtask) would run before any macrotask queued beside it.
    const order: string[] = [];
    const pending = fp8GemmAsync(a, b).then((c) => { order.push('gemm'); return c; });
    setImmediate(() => order.push('immediate'));
    const c = await pending;
    assert.equal(c.length, M * N);
    assert.deepEqual(order, ['immediate', 'gemm']);
    assert.deepEqual(c, fp8Gemm(a, b));
  });

  it('errors found in the worker reject the promise with the message', async () => {
    const x = new Float32Array(256).fill(1);
    x[130] = Infinity;
    await assert.rejects(quantizeActivationsAsync(x, 2, 128), /quantAct: x holds a non-finite value at flat index 130/);
    const logits = new Float32Array(16);
    logits[0] = NaN;
    await assert.rejects(routeAsync(logits, new Float32Array(8), { tokens: 2, experts: 8, groups: 1, topkGroup: 1, topk: 2, scale: 1 }), /logits\[0,0\] is not finite/);
    await assert.rejects(async () => quantizeActivationsAsync(new Float32Array(3), 2, 2), /x must have length 4/);
  });
});
