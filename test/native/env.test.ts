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
