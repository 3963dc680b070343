// Parity with lm-evaluation-harness (PyPI lm_eval, test/requirements.txt): the SAME JSONL file, scored by lm_eval's
// local-completions (tokenizer_backend=remote, a YAML that maps our fields: doc_to_text question, doc_to_choice
// choices, doc_to_target answer, target_delimiter " ") and by `moe-runtime eval`'s scorer through the API, against
// the same served tiny model, gives the same acc, acc_norm and their stderr, and the same log-likelihood for every
// (sample, choice). So our multiple_choice format and metrics are the harness's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../runtime/src/model/rng.js';
import { ApiModel } from '../../../runtime/src/eval/api-model.js';
import { scoreMultipleChoice } from '../../../runtime/src/eval/multiple-choice.js';
import { parseTaskLines, type MultipleChoiceSample } from '../../../runtime/src/eval/tasks.js';
import { pythonWith } from '../../util/python.js';
import { filesUnder, runLmEval } from '../../util/lm-eval.js';
import { MODEL, stack, type Stack } from '../serve/http-fixture.js';

let s: Stack;
let dir: string;
before(async () => {
  s = await stack({ decode: 1 });
  dir = mkdtempSync(join(tmpdir(), 'moe-eval-parity-'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});



const WORDS = ['red', 'green', 'blue', 'cat', 'dog', 'owl', 'sun', 'moon', 'tree', 'rock', 'sea', 'sky', 'ice', 'fire', 'salt', 'iron', 'a', 'elephant'];

test('the same task file: lm_eval and moe-runtime eval agree on acc, acc_norm, stderr and every log-likelihood', { timeout: 600_000 }, async (t) => {
  const py = pythonWith(['lm_eval', 'datasets']);
  const rng = new Rng(11);
  const docs = Array.from({ length: 12 }, (_, i) => ({
    question: `Q${i}: which one is ${WORDS[i % WORDS.length]}?\nA:`,
    choices: Array.from({ length: 4 }, () => WORDS[rng.int(WORDS.length)]),
    answer: rng.int(4),
  }));
  const file = join(dir, 'mc.jsonl');
  writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'mc.yaml'), [
    'task: moe_parity', 'dataset_path: json', 'dataset_kwargs:', '  data_files:', `    test: ${file}`, 'test_split: test',
    'output_type: multiple_choice', 'doc_to_text: "{{question}}"', 'doc_to_choice: "{{choices}}"', 'doc_to_target: answer',
    'target_delimiter: " "', 'metric_list:', '  - metric: acc', '    aggregation: mean', '    higher_is_better: true',
    '  - metric: acc_norm', '    aggregation: mean', '    higher_is_better: true', '',
  ].join('\n'));
  const out = join(dir, 'out');
  const r = await runLmEval(py, dir, ['--model', 'local-completions', '--model_args',
    `model=${MODEL},base_url=${s.url}/v1/completions,tokenizer_backend=remote,tokenized_requests=True,num_concurrent=1,max_retries=1,max_length=512`,
    '--tasks', join(dir, 'mc.yaml'), '--output_path', out, '--log_samples']);
  assert.equal(r.code, 0, r.out.slice(-4000));
  const theirs = (JSON.parse(readFileSync(filesUnder(out, 'results_')[0], 'utf8')) as { results: Record<string, Record<string, number>> }).results.moe_parity;

  const ours = await scoreMultipleChoice(new ApiModel(`${s.url}/v1`, MODEL, { timeoutMs: 20_000, retries: 0 }), file,
    parseTaskLines(readFileSync(file, 'utf8'), file, 'multiple_choice').samples as MultipleChoiceSample[], 4);
  t.diagnostic(`lm_eval acc ${theirs['acc,none']} ± ${theirs['acc_stderr,none']}, acc_norm ${theirs['acc_norm,none']} ± ${theirs['acc_norm_stderr,none']}`);
  const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ours ${a}, lm_eval ${b}`);
  near(ours.accuracy.score, theirs['acc,none'], 'acc');
  near(ours.accuracy.stderr, theirs['acc_stderr,none'], 'acc_stderr');
  near(ours.accNorm.score, theirs['acc_norm,none'], 'acc_norm');
  near(ours.accNorm.stderr, theirs['acc_norm_stderr,none'], 'acc_norm_stderr');
  const samples = readFileSync(filesUnder(out, 'samples_moe_parity')[0], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { doc_id: number; resps: [[string | number, unknown]][] });
  assert.equal(samples.length, docs.length);
  for (const sm of samples) {
    sm.resps.forEach(([[ll]], c) => near(ours.samples[sm.doc_id].choices[c].logLikelihood, Number(ll), `doc ${sm.doc_id} choice ${c}`));
  }
});
