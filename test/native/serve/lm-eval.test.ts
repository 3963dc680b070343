// lm-evaluation-harness (PyPI lm_eval, pinned in test/requirements.txt) drives the served tiny model through the API:
//   - `local-completions` (tokenizer_backend=remote: our /tokenize; echo + logprobs + max_tokens 1) scores a
//     multiple-choice task by log-likelihood;
//   - `local-chat-completions` (--apply_chat_template) runs a greedy exact-match generation task.
// The tasks are local (a YAML config + a JSONL file this test writes; dataset_path: json, nothing downloaded). The
// accuracy and exact match lm_eval reports must equal what this test computes from the model's own log-likelihoods
// (model/transformer.ts step(), the reference, with the engine's weights), and every per-sample log-likelihood must
// match it, so a wrong log-probability, offset or token count fails the test. The stack is prefill → decode, so the
// hand-off path carries the log-probabilities.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderChat } from '../../../runtime/src/data/chat-template.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { pythonWith } from '../../util/python.js';
import { filesUnder, runLmEval } from '../../util/lm-eval.js';
import { MODEL, referenceLogprobs, stack, type Stack } from './http-fixture.js';

let py: string | undefined;
let pyError: Error | undefined;
try {
  py = pythonWith(['lm_eval', 'datasets']);
} catch (e) {
  pyError = e as Error;
}

let s: Stack;
let dir: string;
before(async () => {
  s = await stack({ prefill: 1, decode: 1 });
  dir = mkdtempSync(join(tmpdir(), 'moe-lm-eval-'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});



/** log P(continuation | context) under the reference, token by token as lm_eval splits them (byte tokens). */
function loglikelihood(context: string, continuation: string): number {
  const ctx = byteTokenizer.encode(context);
  const all = Array.from(byteTokenizer.encode(context + continuation));
  const ref = referenceLogprobs(all);
  let ll = 0;
  for (let p = ctx.length; p < all.length; p++) ll += ref[p - 1][all[p]];
  return ll;
}

const WORDS = ['red', 'green', 'blue', 'cat', 'dog', 'owl', 'sun', 'moon', 'tree', 'rock', 'sea', 'sky', 'ice', 'fire', 'salt', 'iron'];

test('lm_eval local-completions: multiple choice by log-likelihood scores what the model\'s own log-likelihoods give', { timeout: 600_000 }, async (t) => {
  if (!py) throw pyError!;
  const rng = new Rng(5);
  const docs = Array.from({ length: 8 }, (_, i) => {
    const choices = Array.from({ length: 4 }, () => WORDS[rng.int(WORDS.length)]);
    return { question: `Q${i}: which one is ${WORDS[i]}?\nA:`, choices, label: 0 };
  });
  const lls = docs.map((d) => d.choices.map((c) => loglikelihood(d.question, ` ${c}`)));
  // Even docs' gold answer is the model's most likely choice, odd docs' another one: accuracy 0.5 when lm_eval
  // ranks the choices as the reference does, something else when it does not.
  docs.forEach((d, i) => {
    const best = lls[i].indexOf(Math.max(...lls[i]));
    d.label = i % 2 === 0 ? best : (best + 1 + rng.int(3)) % 4;
  });
  writeFileSync(join(dir, 'mc.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'mc.yaml'), [
    'task: moe_mc',
    'dataset_path: json',
    'dataset_kwargs:',
    '  data_files:',
    `    test: ${join(dir, 'mc.jsonl')}`,
    'test_split: test',
    'output_type: multiple_choice',
    'doc_to_text: "{{question}}"',
    'doc_to_choice: "{{choices}}"',
    'doc_to_target: label',
    'target_delimiter: " "',
    'metric_list:',
    '  - metric: acc',
    '    aggregation: mean',
    '    higher_is_better: true',
    '',
  ].join('\n'));
  const correct = docs.map((d, i) => lls[i].indexOf(Math.max(...lls[i])) === d.label);
  const expected = correct.filter(Boolean).length / docs.length;
  t.diagnostic(`expected acc ${expected} (${correct.map((c) => (c ? 1 : 0)).join('')})`);

  // Token ids (lm_eval's own context + continuation split) and text (the server re-encodes; equal for byte tokens).
  for (const tokenized of ['True', 'False']) {
    const out = join(dir, `out-mc-${tokenized}`);
    const r = await runLmEval(py!, dir, ['--model', 'local-completions', '--model_args',
      `model=${MODEL},base_url=${s.url}/v1/completions,tokenizer_backend=remote,tokenized_requests=${tokenized},num_concurrent=1,max_retries=1,max_length=512`,
      '--tasks', join(dir, 'mc.yaml'), '--output_path', out, '--log_samples']);
    assert.equal(r.code, 0, r.out.slice(-4000));
    const results = JSON.parse(readFileSync(filesUnder(out, 'results_')[0], 'utf8')) as { results: Record<string, Record<string, number>> };
    assert.equal(results.results.moe_mc['acc,none'], expected, `tokenized_requests=${tokenized}`);
    // Every (doc, choice) log-likelihood lm_eval received equals the reference's.
    const samples = readFileSync(filesUnder(out, 'samples_moe_mc')[0], 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { doc_id: number; resps: [[string | number, unknown]][] });
    assert.equal(samples.length, docs.length);
    for (const sm of samples) {
      sm.resps.forEach(([[ll]], c) => assert.ok(Math.abs(Number(ll) - lls[sm.doc_id][c]) < 1e-4, `tokenized_requests=${tokenized} doc ${sm.doc_id} choice ${c}: ${ll} vs ${lls[sm.doc_id][c]}`));
    }
  }
});

test('lm_eval local-chat-completions: greedy exact-match generation scores what the model\'s own greedy decode gives', { timeout: 600_000 }, async (t) => {
  if (!py) throw pyError!;
  // The model's greedy answer under the router's chat template (DeepSeek-V3's, data/chat-template.ts), cut at the task's stop string "\n"; questions whose
  // answer is empty, ends in whitespace/NUL (numpy string compares drop those) or has a near tie are not used.
  const greedy = (q: string): string | undefined => {
    const ids = Array.from(byteTokenizer.encode(renderChat([{ role: 'user', content: q }])));
    const gen: number[] = [];
    for (let k = 0; k < 6; k++) {
      const row = referenceLogprobs([...ids, ...gen])[ids.length + gen.length - 1];
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
      if (row[order[0]] - row[order[1]] < 1e-4) return undefined;
      gen.push(order[0]);
    }
    const text = byteTokenizer.decode(gen).split('\n')[0];
    return text === '' || /[\s\0]$/.test(text) ? undefined : text;
  };
  const docs: { question: string; answer: string }[] = [];
  for (let i = 0; docs.length < 6 && i < 60; i++) {
    const q = `Say ${WORDS[i % WORDS.length]} ${i}`;
    const g = greedy(q);
    // Even docs expect the model's own answer, odd ones something it does not say.
    if (g !== undefined) docs.push({ question: q, answer: docs.length % 2 === 0 ? g : `not-${i}` });
  }
  assert.equal(docs.length, 6);
  writeFileSync(join(dir, 'gen.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  writeFileSync(join(dir, 'gen.yaml'), [
    'task: moe_gen',
    'dataset_path: json',
    'dataset_kwargs:',
    '  data_files:',
    `    test: ${join(dir, 'gen.jsonl')}`,
    'test_split: test',
    'output_type: generate_until',
    'doc_to_text: "{{question}}"',
    'doc_to_target: "{{answer}}"',
    'generation_kwargs:',
    '  until: ["\\n"]',
    '  max_gen_toks: 6',
    '  do_sample: false',
    '  temperature: 0',
    'metric_list:',
    '  - metric: exact_match',
    '    aggregation: mean',
    '    higher_is_better: true',
    '',
  ].join('\n'));
  const expected = 3 / 6;
  t.diagnostic(`expected exact_match ${expected}`);
  const out = join(dir, 'out-gen');
  const r = await runLmEval(py!, dir, ['--model', 'local-chat-completions', '--model_args',
    `model=${MODEL},base_url=${s.url}/v1/chat/completions,num_concurrent=1,max_retries=1`,
    '--apply_chat_template', '--tasks', join(dir, 'gen.yaml'), '--output_path', out, '--log_samples']);
  assert.equal(r.code, 0, r.out.slice(-4000));
  const results = JSON.parse(readFileSync(filesUnder(out, 'results_')[0], 'utf8')) as { results: Record<string, Record<string, number>> };
  assert.equal(results.results.moe_gen['exact_match,none'], expected);
});
