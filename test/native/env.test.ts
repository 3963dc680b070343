// Environment switches read at load time, and the error when the addon has not been built.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const index = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtime/src/native/index.js')).href;

function childInfo(env: Record<string, string>): string {
  const code = `import(${JSON.stringify(index)}).then((m) => { try { console.log(JSON.stringify(m.kernelInfo())); } catch (e) { console.log('ERR ' + e.message); } })`;
  return execFileSync(process.execPath, ['-e', code], { env: { ...process.env, ...env } }).toString().trim();
}

describe('native environment', () => {
  it('MOE_KERNELS=reference forces the scalar reference path and MOE_NUM_THREADS sizes the pool', () => {
    const info = JSON.parse(childInfo({ MOE_KERNELS: 'reference', MOE_NUM_THREADS: '3' })) as { path: string; threads: number };
    assert.equal(info.path, 'reference');
    assert.equal(info.threads, 3);
  });

  it('without the built addon the error says to run make native', () => {
    const out = childInfo({ MOE_NATIVE_ADDON: '/nonexistent/moe_native.node' });
    assert.match(out, /^ERR moe native addon not found at \/nonexistent\/moe_native\.node: run "make native"/);
  });
});

describe('native addon in worker threads', () => {
  it('loads and computes inside a worker_thread as well as on the main thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const code = `import(${JSON.stringify(index)}).then((m) => {
      const a = m.quantizeActivations(new Float32Array(256).fill(1), 2, 128), b = m.quantizeWeights(new Float32Array(384).fill(0.5), 3, 128);
      require('node:worker_threads').parentPort.postMessage(Array.from(m.fp8Gemm(a, b)));
    })`;
    const got = await new Promise<number[]>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (v: number[]) => { resolve(v); void w.terminate(); });
      w.once('error', reject);
    });
    assert.equal(got.length, 6);
    for (const v of got) assert.ok(Math.abs(v - 64) < 1e-4, `${v} != 128 * 1 * 0.5`);
  });
});
