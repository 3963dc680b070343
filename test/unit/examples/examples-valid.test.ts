// Every resource under examples/ and every moe.io resource in README.md passes the operator's own validation (the
// checks that mark a job Invalid), with the CRD defaults applied as the API server would. The integration test
// test/integration/operator/examples.test.ts applies the same files to a real API server and waits for their phases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyDefaults } from '../../../operator/api/defaults.js';
import { InferenceDeploymentSchema, MoEEvaluationSchema, MoETrainingJobSchema, type IInferenceDeployment, type IMoEEvaluation, type IMoETrainingJob } from '../../../operator/api/types.gen.js';
import { validateEvaluation } from '../../../operator/controllers/eval/validate.js';
import { validateDeployment } from '../../../operator/controllers/infd/validate.js';
import { validateJob } from '../../../operator/controllers/mtj/validate.js';
import { exampleResources } from '../../util/examples.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');

test('the example set is what the repository holds: every YAML file under examples/ and the README snippets', () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
  const yaml = files(join(root, 'examples')).filter((f) => /\.ya?ml$/.test(f)).map((f) => relative(root, f)).sort();
  const found = exampleResources(root);
  assert.deepEqual([...new Set(found.filter((r) => r.source.startsWith('examples/')).map((r) => r.source))].sort(), yaml);
  const readme = found.filter((r) => r.source === 'README.md').map((r) => r.doc.kind);
  assert.ok(readme.includes('MoETrainingJob') && readme.includes('InferenceDeployment'), `README kinds: ${readme.join(', ')}`);
});

for (const r of exampleResources(root)) {
  if (r.doc.kind === 'MoETrainingJob') {
    test(`${r.source}: MoETrainingJob ${r.doc.metadata.name} is valid as written`, () => {
      assert.deepEqual(validateJob(applyDefaults(MoETrainingJobSchema, r.doc as IMoETrainingJob)), []);
    });
  }
  if (r.doc.kind === 'MoEEvaluation') {
    test(`${r.source}: MoEEvaluation ${r.doc.metadata.name} is valid as written`, () => {
      assert.deepEqual(validateEvaluation(applyDefaults(MoEEvaluationSchema, r.doc as IMoEEvaluation)), []);
    });
  }
  if (r.doc.kind === 'InferenceDeployment') {
    test(`${r.source}: InferenceDeployment ${r.doc.metadata.name} is valid as written`, () => {
      assert.deepEqual(validateDeployment(applyDefaults(InferenceDeploymentSchema, r.doc as IInferenceDeployment)), []);
    });
  }
}

