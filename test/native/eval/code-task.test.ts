// Code pass@k end to end through the real sandbox, with a scripted model (its completions per seed are chosen, so the
// passing counts are known): a python problem with entry_point (2 of 4 samples pass: one wrong, one infinite loop
// killed at the timeout) and a javascript one (1 of 4). pass@k per problem by hand, averaged, with the stderr over
// problems; completions asked at temperature 0.8 with seeds problem × samples + sample; the isolation is reported.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CompleteOptions, EvalModel } from '../../../runtime/src/eval/model.js';
import { candidateProgram, scoreCode } from '../../../runtime/src/eval/code-task.js';
import { evaluate } from '../../../runtime/src/eval/run.js';
import { parseTaskLines, type CodeSample } from '../../../runtime/src/eval/tasks.js';
import { EvalError } from '../../../runtime/src/eval/errors.js';

// The sandbox finds python3 on PATH: the test environment's (MOE_PYTHON) first.
if (process.env.MOE_PYTHON) process.env.PATH = `${path.dirname(process.env.MOE_PYTHON)}:${process.env.PATH ?? ''}`;

const py = { prompt: 'def add(a, b):\n', tests: 'def check(f):\n    assert f(2, 3) == 5\n    assert f(-1, 1) == 0\n', language: 'python', entry_point: 'add' };
const js = { prompt: 'function mul(a, b) {\n', tests: 'function check(f) {\n  if (f(3, 4) !== 12) throw new Error("mul(3, 4) = " + f(3, 4));\n}\n', language: 'javascript', entry_point: 'mul' };
const completions: Record<number, string> = {
  0: '    return a + b\n', 1: '    return a - b\n', 2: '    return b + a\n', 3: '    while True:\n        pass\n',
  4: '  return a * b;\n}\n', 5: '  return a + b;\n}\n', 6: '  return a ** 0;\n}\n', 7: '  return;\n}\n',
};

class Scripted implements EvalModel {
  readonly description = 'scripted';
  readonly asked: CompleteOptions[] = [];
  tokenize(): Promise<number[]> { throw new Error('not used'); }
  promptLogprobs(): Promise<number[]> { throw new Error('not used'); }
  complete(_prompt: string, o: CompleteOptions): Promise<string> {
    this.asked.push(o);
    return Promise.resolve(completions[o.seed]);
  }
  close(): Promise<void> { return Promise.resolve(); }
}

let dir: string;
before(() => { dir = mkdtempSync(path.join(tmpdir(), 'moe-eval-code-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

describe('code pass@k', () => {
  it('builds prompt + completion + tests + check(entry_point)', () => {
    const s = parseTaskLines(JSON.stringify(py), 'c.jsonl', 'code').samples[0] as CodeSample;
    assert.equal(candidateProgram(s, '    return a + b\n'), 'def add(a, b):\n    return a + b\n\n\ndef check(f):\n    assert f(2, 3) == 5\n    assert f(-1, 1) == 0\n\n\ncheck(add)\n');
  });

  it('pass@1 and pass@2 over two problems, by hand', async () => {
    const problems = parseTaskLines(`${JSON.stringify(py)}\n${JSON.stringify(js)}\n`, 'c.jsonl', 'code').samples as CodeSample[];
    const m = new Scripted();
    const r = await scoreCode(m, 'c.jsonl', problems, { samples: 4, k: [1, 2], timeoutSeconds: 1, memoryMiB: 256, concurrency: 4 });
    assert.deepEqual(m.asked.map((o) => o.seed).sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(m.asked.every((o) => o.temperature === 0.8));
    assert.deepEqual(r.samples.map((s) => s.passed), [2, 1]);
    assert.deepEqual(r.samples[0].runs.map((x) => x.status), ['passed', 'failed', 'passed', 'timeout']);
    // python: n=4 c=2 → pass@1 = 0.5, pass@2 = 1 − C(2,2)/C(4,2) = 5/6; javascript: c=1 → 0.25 and 1 − C(3,2)/C(4,2) = 0.5.
    const p1 = r.passAt.get(1)!;
    const p2 = r.passAt.get(2)!;
    assert.ok(Math.abs(p1.score - 0.375) < 1e-12 && Math.abs(p1.stderr - 0.125) < 1e-12, JSON.stringify(p1));
    assert.ok(Math.abs(p2.score - 2 / 3) < 1e-12 && Math.abs(p2.stderr - 1 / 6) < 1e-12, JSON.stringify(p2));
    assert.equal(p1.n, 2);
    assert.match(r.isolation, /^network=\S+ limits=\S+$/);
  });

  it('through evaluate(): TaskScores pass@<k> with the isolation; a missing interpreter fails the run (not the task)', async () => {
    const file = path.join(dir, 'code.jsonl');
    writeFileSync(file, `${JSON.stringify(py)}\n${JSON.stringify(js)}\n`);
    const log = { info: () => {}, warn: () => {} };
    const plan = { target: { kind: 'model' as const, path: 'unused' }, tasks: [{ name: 'add-mul', type: 'code' as const, file, samples: 4, k: [1, 2], timeoutSeconds: 1 }], requestTimeoutSeconds: 5, retries: 0 };
    const scores = await evaluate(plan, () => Promise.resolve(new Scripted()), { log });
    assert.deepEqual(scores.map((s) => [s.metric, s.n]), [['pass@1', 2], ['pass@2', 2]]);
    assert.ok(scores.every((s) => s.type === 'code' && s.name === 'add-mul' && /^network=/.test(s.isolation ?? '')));
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(evaluate(plan, () => Promise.resolve(new Scripted()), { log }), (e: Error) =>
        e instanceof EvalError && e.reason === 'Failed' && e.message.startsWith(`${file}:1: python3 is not on PATH (/nonexistent)`));
    } finally {
      process.env.PATH = saved;
    }
  });
});
