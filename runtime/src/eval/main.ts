// `moe-runtime eval` (I/O): the evaluation pod's entrypoint and its local form.
//   pod:   MOE_EVAL_PLAN=<plan.json> [MOE_EVAL_REPORT_CONFIGMAP=<name> MOE_NAMESPACE=<ns>] moe-runtime eval
//   local: moe-runtime eval --plan plan.json | (--model DIR | --url BASE_URL [--served-model NAME]) --task type:name:file ...
// Prints the scores table, writes --out (the EvalResult JSON), merge-patches the report ConfigMap when told to (the
// pods' one Kubernetes client, ../kube/configmaps.ts), and exits with the contract's code (README.md): 0 ok, 1 failed,
// 2 bad tasks, 3 model unreachable. A failed run still reports the tasks it finished, with `error`.
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { EvalConfigMaps, EvalEnv, EvalExitCode, formatEvalResult, parseEvalPlan, type EvalPlan, type EvalResult, type EvalTask, type TaskScore } from '../../../operator/contract/index.js';
import { inClusterConfigMaps, type ConfigMapStore } from '../kube/configmaps.js';
import { podPath } from '../kube/pod-path.js';
import { uriPath } from '../checkpoint/resume.js';
import { ApiModel } from './api-model.js';
import { EngineModel } from './engine-model.js';
import { BadTaskError, EvalError } from './errors.js';
import type { EvalModel } from './model.js';
import { evaluate, scoresTable, type EvalLog } from './run.js';
import { EVAL_USAGE } from './usage.js';

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new BadTaskError(`${flag} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/** The plan a local run's flags describe, checked by the contract's parser (messages name the flag's field). */
export function planFromFlags(v: Record<string, string | string[] | boolean | undefined>): EvalPlan {
  const tasks = (v.task as string[] | undefined) ?? [];
  if (!tasks.length) throw new BadTaskError('eval needs --plan FILE, or --task TYPE:NAME:FILE (repeatable) with --model DIR or --url BASE_URL');
  if ((v.model === undefined) === (v.url === undefined)) throw new BadTaskError('eval needs exactly one of --model DIR and --url BASE_URL');
  const opt = (flag: string) => num(v[flag] as string | undefined, `--${flag}`);
  const k = v.k === undefined ? undefined : String(v.k).split(',').map((x) => Number(x));
  const plan = {
    target: v.model !== undefined ? { kind: 'model', path: v.model } : { kind: 'api', baseUrl: v.url, model: v['served-model'] ?? '?' },
    tasks: tasks.map((spec): Partial<EvalTask> => {
      const m = /^([^:]+):([^:]+):(.+)$/.exec(spec);
      if (!m) throw new BadTaskError(`--task ${JSON.stringify(spec)} must be TYPE:NAME:FILE, e.g. multiple_choice:arith:tasks/arith.jsonl`);
      return {
        type: m[1] as EvalTask['type'], name: m[2], file: m[3], limit: opt('limit'), maxTokens: opt('max-tokens'),
        answerPattern: v['answer-pattern'] as string | undefined,
        ...(m[1] === 'code' ? { samples: opt('samples'), k, timeoutSeconds: opt('timeout-seconds'), memoryMiB: opt('memory-mib') } : {}),
      };
    }),
    requestTimeoutSeconds: opt('request-timeout') ?? 60,
    retries: opt('retries') ?? 2,
  };
  try {
    return parseEvalPlan(JSON.stringify(plan), 'the flags');
  } catch (e) {
    throw new BadTaskError((e as Error).message);
  }
}

function readPlanFile(file: string, source: string): EvalPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadTaskError(`${source}: cannot read the plan (${(e as Error).message})`);
  }
  try {
    return parseEvalPlan(text, source);
  } catch (e) {
    throw new BadTaskError((e as Error).message);
  }
}

/**
 * The plan's files as this process sees them: a file:// model URI as its path, and under the local cluster's process
 * runner (MOE_POD_ROOT) the container's paths below the pod's root; unchanged in a real pod.
 */
export function localPlan(plan: EvalPlan, env: NodeJS.ProcessEnv): EvalPlan {
  let target = plan.target;
  if (target.kind === 'model') {
    let p: string;
    try {
      p = uriPath(target.path, 'target.path');
    } catch (e) {
      throw new BadTaskError((e as Error).message);
    }
    target = { kind: 'model', path: podPath(p, env) };
  }
  return { ...plan, target, tasks: plan.tasks.map((t) => ({ ...t, file: podPath(t.file, env) })) };
}

function logger(json: boolean): EvalLog {
  const line = (level: string) => (msg: string, fields: Record<string, unknown> = {}): void => {
    if (json) process.stderr.write(`${JSON.stringify({ level, msg, ...fields, time: new Date().toISOString() })}\n`);
    else process.stderr.write(`${level === 'warn' ? 'warning: ' : ''}${msg}${Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  return { info: line('info'), warn: line('warn') };
}

async function openModel(plan: EvalPlan, precision: string | undefined, log: EvalLog): Promise<EvalModel> {
  const t = plan.target;
  if (t.kind === 'model') return EngineModel.load(t.path, precision ? { precision: precision as 'fp8' | 'bf16' | 'fp32' } : {});
  const m = new ApiModel(t.baseUrl, t.model, { timeoutMs: plan.requestTimeoutSeconds * 1000, retries: plan.retries, warn: (msg) => log.warn(msg) });
  if (t.model === '?') m.model = await m.servedModel();
  return m;
}

/** The report ConfigMap patch, retried: without it the operator never sees the run. */
async function report(env: NodeJS.ProcessEnv, r: EvalResult, log: EvalLog, configMaps?: ConfigMapStore): Promise<void> {
  const name = env[EvalEnv.reportConfigMap];
  if (!name) return;
  const store = configMaps ?? inClusterConfigMaps(env);
  if (!store) {
    log.warn(`${EvalEnv.reportConfigMap}=${name} but this process is not in a cluster (no KUBERNETES_SERVICE_HOST or MOE_NAMESPACE): the result is not reported`);
    return;
  }
  let last: unknown;
  for (let i = 0; i < 4; i++) {
    if (i) await new Promise((res) => setTimeout(res, 500 * 2 ** i));
    try {
      await store.mergePatch(name, { [EvalConfigMaps.report.key]: formatEvalResult(r) });
      log.info(`result reported to ConfigMap ${store.namespace}/${name}`);
      return;
    } catch (e) {
      last = e;
      log.warn(`report to ConfigMap ${store.namespace}/${name} failed (try ${i + 1}/4): ${(e as Error).message}`);
    }
  }
  throw new EvalError(`cannot report the result to ConfigMap ${store.namespace}/${name}: ${(last as Error).message}`);
}

/** Runs `moe-runtime eval`; returns the exit code. `configMaps` replaces the in-cluster store (tests). */
export async function evalMain(argv: string[], env: NodeJS.ProcessEnv = process.env, configMaps?: ConfigMapStore): Promise<number> {
  const log = logger(!process.stderr.isTTY);
  const startedAt = new Date().toISOString();
  let plan: EvalPlan | undefined;
  const scores: TaskScore[] = [];
  let out: string | undefined;
  let details: Record<string, unknown> | undefined;
  let detailsFile: string | undefined;
  let error: EvalResult['error'];
  let code: number = EvalExitCode.ok;
  try {
    const { values: v } = parseArgs({
      args: argv,
      options: {
        plan: { type: 'string' }, model: { type: 'string' }, url: { type: 'string' }, 'served-model': { type: 'string' },
        task: { type: 'string', multiple: true }, limit: { type: 'string' }, 'max-tokens': { type: 'string' },
        'answer-pattern': { type: 'string' }, samples: { type: 'string' }, k: { type: 'string' },
        'timeout-seconds': { type: 'string' }, 'memory-mib': { type: 'string' }, 'request-timeout': { type: 'string' },
        retries: { type: 'string' }, precision: { type: 'string' }, out: { type: 'string' }, details: { type: 'string' },
      },
    });
    out = v.out;
    detailsFile = v.details;
    if (detailsFile) details = {};
    if (v.plan) plan = readPlanFile(v.plan, v.plan);
    else if (v.task?.length || v.model || v.url) plan = planFromFlags(v);
    else if (env[EvalEnv.plan]) plan = readPlanFile(podPath(env[EvalEnv.plan]!, env), `${EvalEnv.plan}=${env[EvalEnv.plan]}`);
    else throw new BadTaskError(`eval needs --plan FILE, --task flags or ${EvalEnv.plan}\n${EVAL_USAGE}`);
    const local = localPlan(plan, env);
    await evaluate(local, () => openModel(local, v.precision, log), {
      log,
      onScores: (s) => scores.splice(0, scores.length, ...s),
      ...(details ? { onDetails: (task: string, d: unknown) => { details![task] = d; } } : {}),
    });
    process.stdout.write(scoresTable(scores));
  } catch (e) {
    const err = e instanceof EvalError ? e : new EvalError((e as Error).message);
    error = { reason: err.reason, message: err.message };
    code = err.exitCode;
    log.warn(`evaluation failed (${err.reason}, exit ${code}): ${err.message}`);
    if (scores.length) process.stdout.write(scoresTable(scores));
  }
  const result: EvalResult = { ...(plan?.checkpoint ? { checkpoint: plan.checkpoint } : {}), scores, startedAt, finishedAt: new Date().toISOString(), ...(error ? { error } : {}) };
  try {
    if (out) writeFileSync(out, `${JSON.stringify(JSON.parse(formatEvalResult(result)), null, 2)}\n`);
    if (detailsFile) writeFileSync(detailsFile, `${JSON.stringify(details, null, 2)}\n`);
    await report(env, result, log, configMaps);
  } catch (e) {
    log.warn((e as Error).message);
    if (code === EvalExitCode.ok) code = EvalExitCode.failed;
  }
  // Kubernetes shows this file as the container's termination message (the default terminationMessagePath).
  if (error && env[EvalEnv.plan] && existsSync('/dev/termination-log')) {
    try {
      writeFileSync('/dev/termination-log', `${error.reason}: ${error.message}`.slice(0, 4000));
    } catch {
      // not writable here: the log line above says it
    }
  }
  if (error) process.stderr.write(`moe-runtime eval: ${error.message}\n`);
  return code;
}
