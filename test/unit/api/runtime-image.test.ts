import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RUNTIME_IMAGE } from '../../../operator/api/constants.js';

test("the default runtime image is this release's, as make images names it", () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(RUNTIME_IMAGE, `ghcr.io/moe-operator/moe-runtime:${version}`);
});
