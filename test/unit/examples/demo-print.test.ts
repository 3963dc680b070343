// The demo's printing helpers (examples/demo/print.sh) under bash, against a kubectl stand-in whose job advances one
// training step on EVERY call: a line assembled from several reads pairs one step with another step's loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const lib = join(root, 'examples/demo/print.sh');

/** The job as the API server would hold it after `call` reads: no status first, then one step more per read. */
function jobAt(call: number): unknown {
  if (call === 0) return { spec: { training: { steps: 24 } } };
  return {
    spec: { training: { steps: 24 } },
    status: {
      phase: 'Running',
      progress: { step: call, loss: 10 - call / 8 },
      ...(call >= 4 ? { checkpoints: { latest: { step: 4 * Math.floor(call / 4) } } } : {}),
      plan: { trafficByLevel: [{ level: 'nvlink', bytesPerStep: 77_800_000_000_000 }, { level: 'leaf', bytesPerStep: 452_643_821_125_504 }, { level: 'host', bytesPerStep: 0 }] },
    },
  };
}

// kubectl stand-in: evaluates the jsonpath subset the helpers use ({.a.b}, {"lit"}, {range .a[*]}…{end}) against
// jobAt(n), n counting calls in a file. Written in JS so the test needs nothing but node and bash.
const FAKE = `#!/usr/bin/env node
const fs = require('fs');
const counter = process.env.FAKE_COUNTER;
const n = Number(fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8') : 0);
fs.writeFileSync(counter, String(n + 1));
const job = (${jobAt.toString()})(n);
const arg = process.argv.slice(2).find((a) => a.startsWith('jsonpath='));
const tpl = arg.slice('jsonpath='.length);
const get = (o, p) => p.split('.').filter(Boolean).reduce((x, k) => (x == null ? undefined : x[k.replace('[*]', '')]), o);
const toks = [...tpl.matchAll(/\\{([^}]*)\\}/g)].map((m) => m[1]);
function run(ts, o) {
  let out = '';
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.startsWith('range ')) {
      let depth = 1, j = i + 1;
      for (; depth; j++) { if (ts[j].startsWith('range ')) depth++; if (ts[j] === 'end') depth--; }
      for (const item of get(o, t.slice(6)) ?? []) out += run(ts.slice(i + 1, j - 1), item);
      i = j - 1;
    } else if (t.startsWith('"')) out += JSON.parse(t);
    else { const v = get(o, t); out += v == null ? '' : String(v); }
  }
  return out;
}
process.stdout.write(run(toks, job));
`;

function bash(script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'demo-print-'));
  writeFileSync(join(dir, 'kubectl'), FAKE);
  chmodSync(join(dir, 'kubectl'), 0o755);
  const r = spawnSync('bash', ['-c', `set -euo pipefail; NS=demo; . "${lib}"; ${script}`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_COUNTER: join(dir, 'n') },
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('each progress line comes from one read: its step and loss belong together, and no line before a phase', () => {
  const out = bash('for i in 1 2 3 4 5 6; do mtj_read tiny; mtj_progress_line; done');
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 5, `the read without a phase prints nothing:\n${out}`);
  for (const line of lines) {
    const m = line.match(/^ {2}Running +step (\d+)\/24 +loss (\S+) +checkpoint (.*)$/);
    assert.ok(m, `line shape: ${JSON.stringify(line)}`);
    const step = Number(m[1]);
    assert.equal(m[2], (10 - step / 8).toFixed(4), `loss of step ${step} in ${JSON.stringify(line)}`);
    assert.equal(m[3], step >= 4 ? `step ${4 * Math.floor(step / 4)}` : 'none yet', line);
  }
  assert.doesNotMatch(out, /\?/);
});

test('traffic per level prints in decimal units, not raw byte counts', () => {
  assert.equal(bash('human_bytes 452643821125504'), '453 TB\n');
  assert.equal(bash('human_bytes 0'), '0 B\n');
  assert.equal(bash('human_bytes 4810000000000'), '4.81 TB\n');
  const out = bash('mtj_read tiny; mtj_traffic tiny');
  assert.deepEqual(out.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)), [
    ['nvlink', '77.8', 'TB'],
    ['leaf', '453', 'TB'],
    ['host', '0', 'B'],
  ]);
});

test("the README's demo transcript shows the step headers demo.sh prints", () => {
  const script = readFileSync(join(root, 'examples/demo.sh'), 'utf8');
  const printed = new Set([...script.matchAll(/^step "(\d+\/\d+) /gm)].map((m) => m[1]));
  assert.ok(printed.size >= 6, `demo.sh steps: ${[...printed].join(' ')}`);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const shown = [...readme.matchAll(/^== (\d+\/\d+) /gm)].map((m) => m[1]);
  assert.ok(shown.length > 0, 'README shows a demo transcript');
  for (const h of shown) assert.ok(printed.has(h), `README shows "== ${h}", demo.sh prints ${[...printed].join(', ')}`);
});
