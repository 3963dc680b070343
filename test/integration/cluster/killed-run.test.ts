// A test run killed with SIGKILL cannot stop its cluster; the next start must find and stop what it left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { isAlive } from '../../cluster/processes.js';
import { sweepStale } from '../../cluster/state.js';

test('a cluster whose owner was SIGKILLed is stopped and removed by the next sweep', async () => {
  const index = new URL('../../cluster/index.js', import.meta.url).href;
  const script = `import(${JSON.stringify(index)}).then(async ({ startCluster }) => {
    const c = await startCluster({ fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 }, runnerNodes: 0 });
    console.log('STATE ' + c.stateDir);
    setInterval(() => {}, 1000);
  }).catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  let out = '';
  child.stdout.setEncoding('utf8');
  const stateDir = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /STATE (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`cluster child exited early with ${code}: ${out}`)));
  });
  const pidsDir = join(stateDir, 'pids');
  const pids = readdirSync(pidsDir).map((f) => Number(readFileSync(join(pidsDir, f), 'utf8')));
  assert.equal(pids.length, 4, 'etcd, apiserver, scheduler, controller manager');

  child.kill('SIGKILL');
  await once(child, 'exit');
  // Detached components outlive their owner: this is the leak the sweep exists for.
  assert.ok(pids.every(isAlive), 'components still running after the owner was killed');

  const removed = await sweepStale();
  assert.ok(removed.some((n) => stateDir.endsWith(n)), `sweep removed ${removed.join(',')}`);
  for (const p of pids) assert.equal(isAlive(p), false, `process ${p} left behind`);
  assert.equal(existsSync(stateDir), false);
});
