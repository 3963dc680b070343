// bench/result-file.ts sets bench, date and machine itself: a body that carries its own would silently replace them
// (losing the CPU model), so writeResult refuses it before writing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir, writeResult } from '../../../bench/result-file.js';

test('writeResult refuses a body with its own bench, date or machine and names the field', () => {
  for (const k of ['bench', 'date', 'machine']) {
    assert.throws(() => writeResult('result-file-test', { [k]: 'x', rows: [] }), new RegExp(`writeResult\\('result-file-test'\\): the body has its own '${k}'`));
  }
  assert.equal(existsSync(join(resultsDir, 'result-file-test.json')), false);
});
