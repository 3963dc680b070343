// The training ranks' V8 flags (parallel/heap-flags.ts): a workload shaped like a rank's step (a retained JS heap,
// fresh typed arrays and short-lived objects that outlive scavenges) runs far fewer full collections with them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const flagsModule = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/parallel/heap-flags.js')).href;

// Counts major GCs of the workload in a fresh process, with or without importing the flags module first.
const workload = (withFlags: boolean) => `
${withFlags ? `await import(${JSON.stringify(flagsModule)});` : ''}
const { PerformanceObserver, constants } = await import('node:perf_hooks');
let major = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
const heap = []; for (let i = 0; i < 150000; i++) heap.push({ i, a: [i, i + 1] });
const live = []; for (let i = 0; i < 40; i++) live.push(new Float32Array(250000));
let pending = [];
for (let i = 0; i < 1500; i++) {
  const a = new Float32Array(250000); a[0] = i;
  if (i % 3 === 0) live[i % 40] = a;
  pending.push({ step: i, data: new Array(64).fill(i), done: () => a[0] });
  if (pending.length > 2000) pending = [];
  await null;
}
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(String(major));
`;

const majors = (withFlags: boolean): number =>
  Number(execFileSync(process.execPath, ['--input-type=module', '-e', workload(withFlags)], { encoding: 'utf8', timeout: 120_000 }));

it('heap flags: a step-shaped workload runs at most a quarter of the default full collections', () => {
  const base = majors(false), flagged = majors(true);
  assert.ok(base >= 8, `the workload should provoke full collections by default, got ${base}`);
  assert.ok(flagged * 4 <= base, `full collections with the flags ${flagged}, without ${base}`);
});
