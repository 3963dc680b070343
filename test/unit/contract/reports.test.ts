// The reports pods send the operator (operator/contract/reports.ts): each round-trips through its wire text, the
// text is what the operator has always read, a malformed field is named, and the operator's readers drop bad reports.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatCheckpoint, formatLoadReport, formatProgress, parseCheckpoint, parseLoadReport, parseProgress, readJobReport, readLoadReports,
} from '../../../operator/contract/reports.js';

const T0 = '2026-01-01T00:00:00Z';

describe('progress (data.progress of <job>-report)', () => {
  test('format → parse gives the report back; the text is the JSON rank 0 has always patched', () => {
    const text = formatProgress({ step: 12, tokens: 98304, loss: 2.5, tokensPerSecond: 4096.5 });
    assert.equal(text, '{"step":12,"tokens":98304,"loss":2.5,"tokensPerSecond":4096.5}');
    assert.deepEqual(parseProgress(text), { step: 12, tokens: 98304, loss: 2.5, tokensPerSecond: 4096.5 });
  });

  test('each malformed field is named', () => {
    assert.throws(() => parseProgress('{"tokens":1,"loss":1,"tokensPerSecond":1}'), /^Error: progress: step must be a finite number, got nothing$/);
    assert.throws(() => parseProgress('{"step":1,"tokens":"1","loss":1,"tokensPerSecond":1}'), /progress: tokens must be a finite number, got "1"/);
    assert.throws(() => parseProgress('{"step":1,"tokens":1,"loss":null,"tokensPerSecond":1}'), /progress: loss must be a finite number, got null/);
    assert.throws(() => parseProgress('{"step":1,"tokens":1,"loss":1}'), /progress: tokensPerSecond must be a finite number/);
    assert.throws(() => parseProgress('[1]'), /progress: the message must be a JSON object, got \[1\]/);
    assert.throws(() => parseProgress('{', 'ConfigMap t/a-report key progress'), /ConfigMap t\/a-report key progress: not JSON/);
  });
});

describe('checkpoint (data.checkpoint of <job>-report)', () => {
  test('format → parse gives the report back', () => {
    const text = formatCheckpoint({ step: 100, uri: 'file:///checkpoints/team/a/checkpoints/step-100' });
    assert.equal(text, '{"step":100,"uri":"file:///checkpoints/team/a/checkpoints/step-100"}');
    assert.deepEqual(parseCheckpoint(text), { step: 100, uri: 'file:///checkpoints/team/a/checkpoints/step-100' });
  });

  test('each malformed field is named', () => {
    assert.throws(() => parseCheckpoint('{"step":-1,"uri":"x"}'), /checkpoint: step must be an integer >= 0, got -1/);
    assert.throws(() => parseCheckpoint('{"step":1.5,"uri":"x"}'), /checkpoint: step must be an integer >= 0, got 1.5/);
    assert.throws(() => parseCheckpoint('{"step":1,"uri":""}'), /checkpoint: uri must be a non-empty string, got ""/);
    assert.throws(() => parseCheckpoint('{"step":1}'), /checkpoint: uri must be a non-empty string, got nothing/);
  });
});

describe("the operator's view of <job>-report", () => {
  test('malformed reports are ignored; well-formed ones are parsed', () => {
    assert.deepEqual(readJobReport({ progress: '{"step": 12, "loss": 2.5, "junk": "x"}', checkpoint: '{"step": 10, "uri": "file:///c/10"}' }), {
      progress: { step: 12, loss: 2.5 },
      checkpoint: { step: 10, uri: 'file:///c/10' },
    });
    assert.deepEqual(readJobReport({ progress: 'not json', checkpoint: '{"step": -1, "uri": "x"}' }), {});
    assert.deepEqual(readJobReport(undefined), {});
  });

  test('what rank 0 writes is read back whole', () => {
    const data = { progress: formatProgress({ step: 3, tokens: 24, loss: 5.25, tokensPerSecond: 8 }), checkpoint: formatCheckpoint({ step: 2, uri: 'file:///r/step-2' }) };
    assert.deepEqual(readJobReport(data), { progress: { step: 3, tokens: 24, loss: 5.25, tokensPerSecond: 8 }, checkpoint: { step: 2, uri: 'file:///r/step-2' } });
  });
});

describe('expert load (key <pod> of <deployment>-expert-load)', () => {
  test('format → parse gives the report back; the text is what role leaders have always patched', () => {
    const text = formatLoadReport({ role: 'decode', replica: 1, startedAt: T0, counts: [[5, 0, 2], [1, 1, 1]] });
    assert.equal(text, '{"role":"decode","replica":1,"startedAt":"2026-01-01T00:00:00Z","counts":[[5,0,2],[1,1,1]]}');
    assert.deepEqual(parseLoadReport(text, 's-decode-1-0'), { role: 'decode', replica: 1, startedAt: T0, counts: [[5, 0, 2], [1, 1, 1]] });
  });

  test('each malformed field is named', () => {
    const bad = (o: object) => () => parseLoadReport(JSON.stringify({ role: 'decode', replica: 0, startedAt: T0, counts: [[1, 2]], ...o }), 'p-0');
    assert.throws(bad({ role: 7 }), /p-0: role must be a string, got 7/);
    assert.throws(bad({ replica: 0.5 }), /p-0: replica must be an integer, got 0.5/);
    assert.throws(bad({ startedAt: null }), /p-0: startedAt must be a string, got null/);
    assert.throws(bad({ counts: [] }), /p-0: counts must be a non-empty array of rows of numbers, got \[\]/);
    assert.throws(bad({ counts: [[1, 2], [3]] }), /p-0: counts\[1\] must be as long as counts\[0\] \(2\), got 1/);
    assert.throws(bad({ counts: [[1, -2]] }), /p-0: counts\[0\]\[1\] must be a finite number >= 0, got -2/);
    assert.throws(bad({ counts: [[]] }), /p-0: counts\[0\] must be a non-empty array of numbers, got \[\]/);
  });

  test("the operator's view: malformed reports are ignored, good ones parsed, sorted by pod", () => {
    const good = JSON.stringify({ role: 'decode', replica: 0, startedAt: T0, counts: [[1, 2], [3, 4]] });
    const out = readLoadReports({
      'p-5': JSON.stringify({ role: 'prefill', replica: 1, startedAt: T0, counts: [[7]] }),
      'p-0': good,
      'p-1': 'not json',
      'p-2': JSON.stringify({ role: 'decode', replica: 0, startedAt: T0, counts: [[1, 2], [3]] }), // ragged
      'p-3': JSON.stringify({ role: 'decode', replica: 0, startedAt: T0, counts: [[1, -2]] }), // negative
      'p-4': JSON.stringify({ role: 'decode', startedAt: T0, counts: [[1]] }), // no replica
    });
    assert.deepEqual(out, [
      { pod: 'p-0', role: 'decode', replica: 0, startedAt: T0, counts: [[1, 2], [3, 4]] },
      { pod: 'p-5', role: 'prefill', replica: 1, startedAt: T0, counts: [[7]] },
    ]);
  });
});
