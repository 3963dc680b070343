// Task files: each malformed line and missing field is named as <file>:<line>; blank lines count; limit stops early.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTaskLines, readTaskFile } from '../../../runtime/src/eval/tasks.js';
import { BadTaskError } from '../../../runtime/src/eval/errors.js';

const F = 'tasks/t.jsonl';
const bad = (text: string, type: 'multiple_choice' | 'generate' | 'code', re: RegExp): void => {
  assert.throws(() => parseTaskLines(text, F, type), (e: Error) => e instanceof BadTaskError && re.test(e.message), `${text} → ${re}`);
};

describe('task files', () => {
  it('parses the three formats (question or context; numeric answers as strings; entry_point optional)', () => {
    const mc = parseTaskLines('{"question":"2+2=","choices":["3","4"],"answer":1}\n\n{"context":"sky is","choices":["blue","red","green"],"answer":0}\n', F, 'multiple_choice');
    assert.deepEqual(mc, { type: 'multiple_choice', samples: [{ line: 1, context: '2+2=', choices: ['3', '4'], answer: 1 }, { line: 3, context: 'sky is', choices: ['blue', 'red', 'green'], answer: 0 }] });
    assert.deepEqual(parseTaskLines('{"prompt":"1+1?","answer":2}', F, 'generate').samples, [{ line: 1, prompt: '1+1?', answer: '2' }]);
    assert.deepEqual(parseTaskLines('{"prompt":"def f():","tests":"assert f()==1","language":"python","entry_point":"f"}', F, 'code').samples,
      [{ line: 1, prompt: 'def f():', tests: 'assert f()==1', language: 'python', entryPoint: 'f' }]);
    assert.equal(parseTaskLines('{"prompt":"a","answer":"1"}\n{"prompt":"b","answer":"2"}\n{"prompt":"c","answer":"3"}', F, 'generate', 2).samples.length, 2);
  });

  it('names the file and line of a malformed line, and the missing or wrong field', () => {
    bad('{"question":"q","choices":["a","b"],"answer":0}\n{"question": "q", "choices": [', 'multiple_choice', /^tasks\/t\.jsonl:2: not JSON/);
    bad('\n\n["a"]', 'generate', /^tasks\/t\.jsonl:3: a sample must be a JSON object/);
    bad('{"choices":["a","b"],"answer":0}', 'multiple_choice', /^tasks\/t\.jsonl:1: missing field "question" \(or "context"\)$/);
    bad('{"question":"q","answer":0}', 'multiple_choice', /:1: missing field "choices"$/);
    bad('{"question":"q","choices":["a","b"]}', 'multiple_choice', /:1: missing field "answer"$/);
    bad('{"question":"q","choices":["a"],"answer":0}', 'multiple_choice', /:1: "choices" must be an array of at least 2 non-empty strings/);
    bad('{"question":"q","choices":["a","b"],"answer":2}', 'multiple_choice', /:1: "answer" must be the index of the right choice, an integer in \[0, 2\), got 2/);
    bad('{"question":"","choices":["a","b"],"answer":0}', 'multiple_choice', /:1: "question" must be a non-empty string/);
    bad('{"prompt":"p"}', 'generate', /:1: missing field "answer"$/);
    bad('{"answer":"1"}', 'generate', /:1: missing field "prompt"$/);
    bad('{"prompt":"p","answer":[1]}', 'generate', /:1: "answer" must be a string or a number/);
    bad('{"prompt":"p","language":"python"}', 'code', /:1: missing field "tests"$/);
    bad('{"prompt":"p","tests":"t"}', 'code', /:1: missing field "language"$/);
    bad('{"prompt":"p","tests":"t","language":"ruby"}', 'code', /:1: "language" must be one of python, javascript, got "ruby"/);
    bad('{"prompt":"p","tests":"t","language":"python","entry_point":"f()"}', 'code', /:1: "entry_point" must be an identifier/);
    bad('\n \n', 'generate', /^tasks\/t\.jsonl: no samples/);
  });

  it('a missing file is a bad task naming the file and the task', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'moe-eval-tasks-'));
    try {
      assert.throws(() => readTaskFile({ name: 'arith', type: 'generate', file: path.join(dir, 'nope.jsonl') }), /nope\.jsonl: cannot read task "arith" \(ENOENT/);
      writeFileSync(path.join(dir, 'ok.jsonl'), '{"prompt":"p","answer":"1"}\n');
      assert.equal(readTaskFile({ name: 'ok', type: 'generate', file: path.join(dir, 'ok.jsonl') }).samples.length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
