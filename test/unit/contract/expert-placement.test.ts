// The expert placement the operator publishes (operator/contract/expert-placement.ts): round trip, the wire text,
// the malformed field named, and the operator's lenient reading of its own ConfigMap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPlacement, parsePlacement, readPlacement } from '../../../operator/contract/expert-placement.js';

const SRC = 'ConfigMap t/s-placement key decode';

test('format → parse gives the placement back, with and without the operator-only fields', () => {
  const full = { version: 3, gpus: 2, slotsPerGpu: 3, phy2log: [[0, 1, 2, 3, 0, 1]], logcnt: [[2, 2, 1, 1]], balance: { before: 1.5, after: 1.125 } };
  const text = formatPlacement(full);
  assert.equal(text, '{"version":3,"gpus":2,"slotsPerGpu":3,"phy2log":[[0,1,2,3,0,1]],"logcnt":[[2,2,1,1]],"balance":{"before":1.5,"after":1.125}}');
  assert.deepEqual(parsePlacement(text, SRC), { version: 3, gpus: 2, slotsPerGpu: 3, phy2log: [[0, 1, 2, 3, 0, 1]], logcnt: [[2, 2, 1, 1]], balance: { before: 1.5, after: 1.125 } });
  const bare = formatPlacement({ version: 1, gpus: 1, slotsPerGpu: 2, phy2log: [[1, 0], [0, 1]] });
  assert.deepEqual(parsePlacement(bare, SRC), { version: 1, gpus: 1, slotsPerGpu: 2, phy2log: [[1, 0], [0, 1]] });
});

test('each malformed field is named', () => {
  const ok = { version: 1, gpus: 1, slotsPerGpu: 2, phy2log: [[1, 0]] };
  const bad = (o: object) => () => parsePlacement(JSON.stringify({ ...ok, ...o }), SRC);
  assert.throws(bad({ version: -1 }), /^Error: ConfigMap t\/s-placement key decode: version must be an integer >= 0, got -1$/);
  assert.throws(bad({ gpus: '1' }), /: gpus must be an integer >= 0, got "1"/);
  assert.throws(bad({ slotsPerGpu: undefined }), /: slotsPerGpu must be an integer >= 0, got nothing/);
  assert.throws(bad({ phy2log: 'x' }), /: phy2log must be an array of rows of numbers, got "x"/);
  assert.throws(bad({ phy2log: [[1, 0.5]] }), /: phy2log\[0\]\[1\] must be an integer, got 0.5/);
  assert.throws(bad({ logcnt: [[1], 2] }), /: logcnt\[1\] must be an array of numbers, got 2/);
  assert.throws(bad({ balance: { before: 1 } }), /: balance.after must be a finite number, got nothing/);
  assert.throws(() => parsePlacement('nope', SRC), /key decode: not JSON/);
});

test("the operator's own placement: undefined when absent or malformed", () => {
  assert.deepEqual(readPlacement('{"version":2,"gpus":1,"slotsPerGpu":1,"phy2log":[[0]]}'), { version: 2, gpus: 1, slotsPerGpu: 1, phy2log: [[0]] });
  assert.equal(readPlacement(undefined), undefined);
  assert.equal(readPlacement(''), undefined);
  assert.equal(readPlacement('{"version":"2"}'), undefined);
});
