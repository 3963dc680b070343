// Pure checks of a MoEEvaluation the CRD schema cannot do (or an older CRD may not have enforced): the name, the
// numeric bounds, one target, a task's answerPattern compiling as the runtime compiles it, k ≤ samples. Each message
// names the field and the fix; a failing evaluation is Invalid until the spec changes.
import { numericBoundErrors } from '../../api/bounds.js';
import { MoEEvaluationSchema, type IMoEEvaluation } from '../../api/types.gen.js';
import { dnsLabelError } from '../names.js';

export const MAX_EVALUATION_NAME = 40;

export function validateEvaluation(e: IMoEEvaluation): string[] {
  const errs: string[] = [];
  const name = e.metadata?.name ?? '';
  if (name.length > MAX_EVALUATION_NAME) errs.push(`metadata.name: ${name.length} characters; use at most ${MAX_EVALUATION_NAME} (ConfigMaps are <name>-eval-report, pods <name>-eval-<run>)`);
  const dns = dnsLabelError(name, 'pods are <name>-eval-<run>');
  if (dns) errs.push(dns);
  const bounds = numericBoundErrors(MoEEvaluationSchema.properties!.spec!, e.spec, 'spec');
  if (bounds.length) return [...errs, ...bounds];
  const t = e.spec.target ?? {};
  if ([t.inferenceDeployment, t.checkpoint, t.trainingJob].filter((x) => x !== undefined).length !== 1) {
    errs.push('spec.target: set exactly one of inferenceDeployment, checkpoint or trainingJob');
  }
  if (t.checkpoint !== undefined && !t.checkpoint.startsWith('file:///')) errs.push(`spec.target.checkpoint: ${JSON.stringify(t.checkpoint)} is not an absolute file:// URI (file:///models/tiny)`);
  if (!e.spec.tasks?.length) errs.push('spec.tasks: give at least one task');
  (e.spec.tasks ?? []).forEach((task, i) => {
    const f = `spec.tasks[${i}]`;
    if (task.answerPattern !== undefined) {
      try {
        new RegExp(task.answerPattern, 'u'); // as runtime/src/eval compiles it
      } catch (err) {
        errs.push(`${f}.answerPattern: not a regular expression (${(err as Error).message}); fix it or omit it for the default (\\boxed{...}, else the last number)`);
      }
    }
    const samples = task.samples ?? 1;
    if (task.k?.some((k) => k > samples)) errs.push(`${f}.k: ${JSON.stringify(task.k)} has a k above samples (${samples}); raise samples or lower k`);
    if (!!task.source?.configMap === !!task.source?.path) errs.push(`${f}.source: set exactly one of configMap or path`);
  });
  return errs;
}
