// One reconcile of a MoEEvaluation as pure code: when a run starts, what a finished pod and its report become in
// status (results, conditions, phase), exit codes, and the trainingJob target's every-Nth-checkpoint queue.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trackCheckpoints } from '../../../operator/controllers/eval/checkpoints.js';
import { decide, type EvalObserved } from '../../../operator/controllers/eval/decide.js';
import { specHash } from '../../../operator/controllers/eval/desired.js';
import { runOutcome } from '../../../operator/controllers/eval/status.js';
import { validateEvaluation } from '../../../operator/controllers/eval/validate.js';
import { parseEvalPlan } from '../../../operator/contract/index.js';
import { T0, deployment, makeEvaluation, pod, result, trainingJob } from './eval-fixtures.js';

const obs = (o: Partial<EvalObserved> = {}): EvalObserved => ({ now: T0, pods: [], backoffMs: 0, ...o });
const cond = (s: any, type: string) => s.conditions?.find((c: any) => c.type === type);
const later = (s: number) => new Date(T0.getTime() + s * 1000);

describe('an InferenceDeployment target', () => {
  const ev = makeEvaluation('e', { inferenceDeployment: 'tiny' });

  test('waits while the deployment is missing or not Available (TargetReady=False), then starts run 0', () => {
    let d = decide(ev, obs());
    assert.equal(d.hold, false);
    assert.equal(d.status.status.phase, 'Pending');
    assert.equal(cond(d.status.status, 'TargetReady').reason, 'DeploymentNotFound');
    assert.match(cond(d.status.status, 'TargetReady').message, /InferenceDeployment tiny not found in namespace team; create it or fix spec.target.inferenceDeployment/);
    d = decide(ev, obs({ deployment: deployment('tiny', 'Progressing') }));
    assert.equal(cond(d.status.status, 'TargetReady').reason, 'WaitingForDeployment');
    assert.ok(!('start' in d) || !d.start);

    d = decide(ev, obs({ deployment: deployment('tiny') }));
    assert.ok(!d.hold && d.start);
    assert.equal(d.start.pod.metadata!.name, 'e-eval-0');
    assert.deepEqual(parseEvalPlan((d.start.plan as any).data['plan.json']).target, { kind: 'api', baseUrl: 'http://tiny.team.svc:8000/v1', model: 'tiny' });
    assert.equal(d.status.status.phase, 'Running');
    assert.equal(d.status.status.runs, 1);
    assert.deepEqual(d.status.status.run, { pod: 'e-eval-0', startedAt: '2026-12-07T08:00:00Z' });
    assert.equal(cond(d.status.status, 'TargetReady').status, 'True');
    assert.deepEqual(d.shared.map((o) => `${o.kind}/${o.metadata!.name}`), ['ConfigMap/e-eval-report', 'ServiceAccount/e-eval', 'Role/e-eval', 'RoleBinding/e-eval']);
  });

  test('a pod that succeeded with its result → status.results, latest, Complete and Succeeded; nothing more runs', () => {
    const running = decide(ev, obs({ deployment: deployment('tiny') }));
    const e1 = { ...ev, status: running.status.status };
    const d = decide(e1, obs({ deployment: deployment('tiny'), pods: [pod('e-eval-0', 'Succeeded', { exitCode: 0, finishedAt: T0 })], report: result() }));
    const s = d.status.status;
    assert.equal(s.phase, 'Succeeded');
    assert.equal(s.run, undefined);
    assert.deepEqual(s.results, [{
      target: 'http://tiny.team.svc:8000/v1',
      specHash: specHash(ev),
      finishedAt: '2026-12-07T08:00:00Z',
      scores: [
        { name: 'mmlu', type: 'multiple_choice', metric: 'accuracy', score: 0.625, stderr: 0.0484, n: 100 },
        { name: 'humaneval', type: 'code', metric: 'pass@1', score: 0.25, stderr: 0.1, n: 20 },
      ],
    }]);
    assert.deepEqual(s.latest, { task: 'mmlu', metric: 'accuracy', score: 0.625 });
    assert.equal(s.evaluated, 1);
    assert.equal(cond(s, 'Complete').status, 'True');
    assert.equal(cond(s, 'ModelReachable').status, 'True');
    assert.deepEqual(d.status.events.map((x) => x.reason), ['Evaluated', 'Evaluated']);
    // Once done, the next reconcile starts nothing, and a changed task list evaluates again.
    const again = decide({ ...ev, status: s }, obs({ deployment: deployment('tiny'), pods: [pod('e-eval-0', 'Succeeded')] }));
    assert.ok(!again.hold && !again.start);
    assert.equal(again.status.status.phase, 'Succeeded');
    const changed = decide({ ...ev, spec: { ...ev.spec, tasks: ev.spec.tasks.slice(0, 1) }, status: s }, obs({ deployment: deployment('tiny'), pods: [pod('e-eval-0', 'Succeeded')] }));
    assert.ok(!changed.hold && changed.start);
    assert.equal(changed.start.pod.metadata!.name, 'e-eval-1');
  });

  test('exit code 3 (model unreachable) → ModelReachable=False naming the pod and what it said, phase Failed', () => {
    const s0 = decide(ev, obs({ deployment: deployment('tiny') })).status.status;
    const msg = 'http://tiny.team.svc:8000/v1/completions: connect ECONNREFUSED after 3 retries';
    const d = decide({ ...ev, status: s0 }, obs({ deployment: deployment('tiny'), pods: [pod('e-eval-0', 'Failed', { exitCode: 3, message: msg })] }));
    const s = d.status.status;
    assert.equal(s.phase, 'Failed');
    assert.equal(cond(s, 'ModelReachable').status, 'False');
    assert.equal(cond(s, 'ModelReachable').reason, 'ModelUnreachable');
    assert.equal(cond(s, 'ModelReachable').message, `pod e-eval-0 (exit code 3): ${msg}`);
    assert.equal(cond(s, 'Failed').status, 'True');
    assert.equal(s.failedSpec, specHash(ev));
    // Failed stays Failed (no new pod) until the spec changes.
    const again = decide({ ...ev, status: s }, obs({ deployment: deployment('tiny'), pods: [pod('e-eval-0', 'Failed', { exitCode: 3 })] }));
    assert.ok(!again.hold && !again.start);
    assert.equal(again.status.status.phase, 'Failed');
  });
});

describe('runOutcome: a run pod and its report', () => {
  test('exit codes and the result error name the failure', () => {
    assert.deepEqual(runOutcome(pod('p', 'Failed', { exitCode: 2, message: 'tasks.jsonl:7: missing field "choices"' }), undefined, undefined, T0),
      { state: 'failed', reason: 'BadTasks', message: 'pod p (exit code 2): tasks.jsonl:7: missing field "choices"' });
    const withError = JSON.parse(result(undefined, { reason: 'ModelUnreachable', message: 'GET /v1/models: 503' }).result);
    assert.deepEqual(runOutcome(pod('p', 'Failed', { exitCode: 3 }), withError, undefined, T0),
      { state: 'failed', reason: 'ModelUnreachable', message: 'pod p (exit code 3): GET /v1/models: 503' });
    assert.deepEqual(runOutcome(pod('p', 'Failed', { exitCode: 137 }), undefined, undefined, T0),
      { state: 'failed', reason: 'Failed', message: 'pod p (exit code 137): no message; see kubectl logs' });
    assert.deepEqual(runOutcome(pod('p', 'Running'), undefined, undefined, T0), { state: 'active' });
  });

  test('a succeeded pod without a result waits 30 s for the cache, then fails as ResultMissing; another checkpoint\'s result is not this run\'s', () => {
    assert.equal(runOutcome(pod('p', 'Succeeded', { exitCode: 0, finishedAt: T0 }), undefined, undefined, later(5)).state, 'waitingForResult');
    assert.equal((runOutcome(pod('p', 'Succeeded', { exitCode: 0, finishedAt: T0 }), undefined, undefined, later(31)) as { reason: string }).reason, 'ResultMissing');
    const r100 = JSON.parse(result(100).result);
    assert.equal(runOutcome(pod('p', 'Succeeded', { exitCode: 0, finishedAt: T0 }), r100, { step: 200, uri: 'u' }, later(1)).state, 'waitingForResult');
    assert.equal(runOutcome(pod('p', 'Succeeded', { exitCode: 0, finishedAt: T0 }), r100, { step: 100, uri: 'u' }, later(1)).state, 'succeeded');
  });
});

describe('a trainingJob target: every Nth new checkpoint, then the final export', () => {
  const ck = (step: number) => ({ step, uri: `file:///ckpt/team/tj/checkpoints/step-${step}` });
  const job = (phase: string, step?: number) => trainingJob('tj', { phase: phase as 'Running', ...(step !== undefined ? { checkpoints: { latest: ck(step) }, progress: { step } } : {}) });

  test('trackCheckpoints counts each new latest step, queues every Nth (newest wins), and the export on success', () => {
    let t = trackCheckpoints(undefined, job('Running', 100), 2);
    assert.deepEqual(t, { training: { seen: 1, lastSeenStep: 100, queued: [] }, queued: [] });
    t = trackCheckpoints(t.training, job('Running', 100), 2); // the same checkpoint again
    assert.equal(t.training.seen, 1);
    t = trackCheckpoints(t.training, job('Running', 200), 2);
    assert.deepEqual(t.training.queued, [ck(200)]);
    t = trackCheckpoints(t.training, job('Running', 300), 2);
    t = trackCheckpoints(t.training, job('Running', 400), 2);
    assert.deepEqual(t.training.queued, [ck(400)], 'the evaluation fell behind: 200 is dropped for 400');
    t = trackCheckpoints(t.training, job('Succeeded', 450), 2);
    assert.deepEqual(t.training, { seen: 5, lastSeenStep: 450, queued: [ck(400), { step: 450, uri: 'file:///ckpt/team/tj/export' }], final: true });
    assert.deepEqual(t.queued, [{ step: 450, uri: 'file:///ckpt/team/tj/export' }]);
  });

  test('one pod at a time; results accumulate; Running until the final export is evaluated, then Succeeded', () => {
    const ev = makeEvaluation('e', { trainingJob: { name: 'tj', everyNthCheckpoint: 1 } });
    assert.equal(ev.spec.target.trainingJob!.everyNthCheckpoint, 1);
    let d = decide(ev, obs());
    assert.equal(cond(d.status.status, 'TargetReady').reason, 'TrainingJobNotFound');
    d = decide(ev, obs({ job: job('Running') }));
    assert.equal(d.status.status.phase, 'Running');
    assert.equal(cond(d.status.status, 'Complete').reason, 'WaitingForCheckpoints');

    d = decide(ev, obs({ job: job('Running', 100) }));
    assert.ok(!d.hold && d.start);
    assert.equal(d.start.pod.metadata!.annotations!['moe.io/checkpoint-step'], '100');
    assert.deepEqual(parseEvalPlan((d.start.plan as any).data['plan.json']).target, { kind: 'model', path: '/ckpt/team/tj/checkpoints/step-100' });
    let s = d.status.status;
    // Checkpoint 200 arrives while run 0 evaluates 100: it waits in the queue.
    d = decide({ ...ev, status: s }, obs({ job: job('Running', 200), pods: [pod('e-eval-0', 'Running')] }));
    assert.ok(!d.hold && !d.start);
    s = d.status.status;
    assert.deepEqual(s.training!.queued, [ck(200)]);
    // Run 0 finishes: its result is recorded and run 1 (step 200) starts in the same reconcile.
    d = decide({ ...ev, status: s }, obs({ job: job('Running', 200), pods: [pod('e-eval-0', 'Succeeded', { exitCode: 0, finishedAt: T0 })], report: result(100) }));
    assert.ok(!d.hold && d.start);
    s = d.status.status;
    assert.equal(d.start.pod.metadata!.name, 'e-eval-1');
    assert.deepEqual(s.results!.map((r) => r.checkpoint), [ck(100)]);
    assert.deepEqual(s.latest, { task: 'mmlu', metric: 'accuracy', score: 0.625, step: 100 });
    assert.deepEqual(s.run!.checkpoint, ck(200));
    // The job succeeds while run 1 runs; run 1 ends, the export is evaluated, then the evaluation Succeeds.
    d = decide({ ...ev, status: s }, obs({ job: job('Succeeded', 200), pods: [pod('e-eval-0', 'Succeeded'), pod('e-eval-1', 'Succeeded', { exitCode: 0, finishedAt: T0 })], report: result(200) }));
    assert.ok(!d.hold && d.start);
    assert.equal(d.status.status.phase, 'Running');
    assert.deepEqual(d.deletePods.map((p) => p.metadata!.name), ['e-eval-0'], 'the newest finished pod stays for kubectl logs');
    s = d.status.status;
    assert.deepEqual(s.run!.checkpoint, { step: 200, uri: 'file:///ckpt/team/tj/export' });
    d = decide({ ...ev, status: s }, obs({ job: job('Succeeded', 200), pods: [pod('e-eval-2', 'Succeeded', { exitCode: 0, finishedAt: T0 })], report: result(200) }));
    s = d.status.status;
    assert.equal(s.phase, 'Succeeded');
    assert.equal(s.results!.length, 3);
    assert.deepEqual(s.results!.map((r) => r.checkpoint!.uri), [ck(100).uri, ck(200).uri, 'file:///ckpt/team/tj/export']);
  });

  test('a checkpoint whose run cannot load it (exit 3) is skipped with ModelReachable=False; the next one runs; bad tasks fail the evaluation', () => {
    const ev = makeEvaluation('e', { trainingJob: { name: 'tj' } });
    let s = decide(ev, obs({ job: job('Running', 100) })).status.status;
    s = decide({ ...ev, status: s }, obs({ job: job('Running', 200), pods: [pod('e-eval-0', 'Running')] })).status.status;
    const d = decide({ ...ev, status: s }, obs({ job: job('Running', 200), pods: [pod('e-eval-0', 'Failed', { exitCode: 3, message: 'cannot load the model folder /ckpt/team/tj/checkpoints/step-100' })] }));
    assert.ok(!d.hold && d.start);
    assert.equal(d.start.pod.metadata!.name, 'e-eval-1');
    s = d.status.status;
    assert.equal(s.phase, 'Running');
    assert.equal(s.training!.failed, 1);
    assert.equal(cond(s, 'ModelReachable').status, 'False');
    assert.equal(cond(s, 'Failed'), undefined);
    assert.deepEqual(d.status.events.filter((x) => x.type === 'Warning').map((x) => x.message), ['checkpoint step 100 skipped: pod e-eval-0 (exit code 3): cannot load the model folder /ckpt/team/tj/checkpoints/step-100']);
    const bad = decide({ ...ev, status: s }, obs({ job: job('Running', 200), pods: [pod('e-eval-1', 'Failed', { exitCode: 2, message: '/etc/moe/eval-tasks/0/mmlu.jsonl:3: missing field "choices"' })] }));
    assert.equal(bad.status.status.phase, 'Failed');
    assert.equal(cond(bad.status.status, 'Failed').reason, 'BadTasks');
    assert.match(cond(bad.status.status, 'Failed').message, /mmlu\.jsonl:3: missing field "choices"/);
  });

  test('suspend deletes the running pod and puts its checkpoint back in front of the queue', () => {
    const ev = makeEvaluation('e', { trainingJob: { name: 'tj' } });
    const s = decide(ev, obs({ job: job('Running', 100) })).status.status;
    const d = decide({ ...ev, spec: { ...ev.spec, suspend: true }, status: s }, obs({ job: job('Running', 100), pods: [pod('e-eval-0', 'Running')] }));
    assert.ok(!d.hold);
    assert.deepEqual(d.deletePods.map((p) => p.metadata!.name), ['e-eval-0']);
    assert.equal(d.status.status.run, undefined);
    assert.deepEqual(d.status.status.training!.queued, [ck(100)]);
    assert.equal(d.status.status.phase, 'Pending');
    assert.equal(cond(d.status.status, 'Suspended').status, 'True');
  });
});

describe('validation the schema cannot do', () => {
  test('names the field and the fix', () => {
    const ev = makeEvaluation('e', { checkpoint: 'file:///m' });
    assert.deepEqual(validateEvaluation(ev), []);
    const bad = makeEvaluation('e', { checkpoint: 'file:///m', inferenceDeployment: 'x' }, {
      tasks: [{ name: 'g', type: 'generate', source: { path: '/a' }, answerPattern: '(' }, { name: 'c', type: 'code', source: {}, samples: 2, k: [4] }],
    });
    assert.deepEqual(validateEvaluation(bad).map((m) => m.split(':')[0]), ['spec.target', 'spec.tasks[0].answerPattern', 'spec.tasks[1].k', 'spec.tasks[1].source']);
    const d = decide(bad, obs());
    assert.equal(d.hold, true);
    assert.equal(d.status.status.phase, 'Invalid');
  });
});
