// `moe-runtime serve`: one process of an InferenceDeployment (../README.md). Settings come from the pod contract's env
// (operator/contract/pod-env.ts); flags override them for local runs. Logs are JSON lines on stdout. SIGTERM/SIGINT: stop accepting, let requests in
// flight finish within the grace period, stop the engine, exit 0.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tokenizerFromJSON, type Tokenizer } from '../../data/tokenizer.js';
import { RankEnv, ServeEnv } from '../../../../operator/contract/index.js';
import { inClusterConfigMaps } from '../../kube/configmaps.js';
import { podPath } from '../../kube/pod-path.js';
import { Engine } from '../engine/engine.js';
import { LAYOUT_ENV, exchangeUrls, joinReplica, replicaLayout, type ReplicaRole } from '../engine/expert-parallel-pod.js';
import { replicaRankEnv } from '../engine/replica-env.js';
import { decodeHandoff, encodeHandoff } from '../engine/handoff.js';
import { MAX_SPECULATIVE_TOKENS, type EngineOptions, type SpeculativeOptions } from '../engine/types.js';
import { OperatorSync } from './operator-sync.js';
import { createRoleServer } from './role-server.js';
import { createRouter } from './router.js';
import { PodSpread } from './spread.js';
import { configMapRoutes, staticRoutes, type RouteSource } from './routes.js';
import { ServeMetrics, expertMetricsOption } from './metrics.js';
import { HttpServer, type Log } from './server.js';

const log: Log = (entry) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...entry })}\n`);

function intOf(v: string | undefined, what: string, fallback: number, min: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** --speculative / MOE_SPECULATIVE_METHOD and --speculative-tokens / MOE_SPECULATIVE_TOKENS (default 1); undefined = off. */
export function speculativeOption(method: string | undefined, tokens: string | undefined): SpeculativeOptions | undefined {
  if (method === undefined || method === '') {
    if (tokens !== undefined && tokens !== '') throw new Error(`--speculative-tokens / ${ServeEnv.speculativeTokens} is set without --speculative / ${ServeEnv.speculativeMethod}; set the method (mtp) too`);
    return undefined;
  }
  if (method !== 'mtp') throw new Error(`--speculative / ${ServeEnv.speculativeMethod} must be mtp (the model's MTP module drafts), got ${JSON.stringify(method)}`);
  const n = intOf(tokens, `--speculative-tokens / ${ServeEnv.speculativeTokens}`, 1, 1);
  if (n > MAX_SPECULATIVE_TOKENS) throw new Error(`--speculative-tokens / ${ServeEnv.speculativeTokens} must be at most ${MAX_SPECULATIVE_TOKENS}, got ${n}`);
  return { method, tokens: n };
}

/** The router needs only the tokenizer: <model>/tokenizer.json (export or run folder) or <model>/export/tokenizer.json. */
export function loadTokenizer(modelPath: string): Tokenizer {
  for (const f of [path.join(modelPath, 'tokenizer.json'), path.join(modelPath, 'export', 'tokenizer.json')]) {
    if (existsSync(f)) return tokenizerFromJSON(JSON.parse(readFileSync(f, 'utf8')));
  }
  throw new Error(`${modelPath} has no tokenizer.json (nor export/tokenizer.json); the router needs the model's tokenizer (${ServeEnv.modelPath} / --model)`);
}

export async function serveMain(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await serve(argv, env);
  } catch (e) {
    // Sockets of a half-joined replica would keep the process alive: a failed start must end it.
    process.stderr.write(`moe-runtime: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

async function serve(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string' }, model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, routes: { type: 'string' },
      'model-name': { type: 'string' }, 'max-batch': { type: 'string' }, 'max-queue': { type: 'string' }, precision: { type: 'string' },
      'max-in-flight': { type: 'string' }, 'grace-seconds': { type: 'string' }, speculative: { type: 'string' }, 'speculative-tokens': { type: 'string' },
      'ep-layout': { type: 'string' },
    },
  });
  const role = values.role ?? env[ServeEnv.role];
  if (role !== 'router' && role !== 'prefill' && role !== 'decode') throw new Error(`serve: the role must be router, prefill or decode (--role or ${ServeEnv.role}), got ${JSON.stringify(role)}`);
  const given = values.model ?? env[ServeEnv.modelPath];
  const modelPath = given && podPath(given, env);
  if (!modelPath) throw new Error(`serve: the model folder is required (--model PATH or ${ServeEnv.modelPath})`);
  const port = intOf(values.port ?? env[ServeEnv.port], `--port / ${ServeEnv.port}`, 8000, 0);
  const host = values.host ?? env[RankEnv.podIp] ?? '127.0.0.1';
  const modelName = values['model-name'] ?? env[ServeEnv.servedModelName] ?? env[ServeEnv.deployment];
  const graceMs = intOf(values['grace-seconds'], '--grace-seconds', 30, 0) * 1000;
  const expertMetrics = expertMetricsOption(env.MOE_SERVE_EXPERT_METRICS);
  // Only pods that are told about a ConfigMap hold an API token (non-leaders have none), so the client is made on demand.
  const store = (): ReturnType<typeof inClusterConfigMaps> => inClusterConfigMaps(env);
  const stops: (() => Promise<void>)[] = [];
  let server: HttpServer;
  /** A pod of a data-parallel decode replica, and (leader) where its new sequences go. */
  let dataParallel: Extract<ReplicaRole, { layout: 'alltoall' }> | undefined;
  let spread: PodSpread | undefined;

  if (role === 'router') {
    const tokenizer = loadTokenizer(modelPath);
    let routes: RouteSource;
    if (values.routes) routes = staticRoutes(values.routes);
    else {
      const cms = env[ServeEnv.routingConfigMap] ? store() : undefined;
      if (!cms) throw new Error(`serve --role router: routes are required: --routes FILE|JSON locally, or ${ServeEnv.routingConfigMap} (with ${RankEnv.namespace}) inside the cluster`);
      routes = await configMapRoutes(cms, env[ServeEnv.routingConfigMap]!, 2_000, log);
    }
    stops.push(() => routes.stop());
    server = createRouter({ tokenizer, routes, modelName, log, maxInFlight: intOf(values['max-in-flight'], '--max-in-flight', 256, 1) });
  } else {
    const opts: EngineOptions = {
      maxBatch: intOf(values['max-batch'] ?? env[ServeEnv.maxBatch], `--max-batch / ${ServeEnv.maxBatch}`, 8, 1),
      maxQueue: intOf(values['max-queue'] ?? env[ServeEnv.maxQueue], `--max-queue / ${ServeEnv.maxQueue}`, 64, 0),
      precision: values.precision as EngineOptions['precision'],
      epSize: intOf(env[ServeEnv.epSize], ServeEnv.epSize, 1, 1),
      log,
    };
    // Decode drafts; a prefill pod hands the drafter's state over whenever a decode pod asks (no option needed).
    const speculative = speculativeOption(values.speculative ?? env[ServeEnv.speculativeMethod], values['speculative-tokens'] ?? env[ServeEnv.speculativeTokens]);
    if (speculative && role === 'decode') opts.speculative = speculative;
    const pods = intOf(env[ServeEnv.podsPerReplica], ServeEnv.podsPerReplica, 1, 1);
    const index = intOf(env[ServeEnv.podIndex], ServeEnv.podIndex, 0, 0);
    let engine: Engine;
    if (pods > 1) {
      // Expert parallelism across the replica's pods, one process per pod: rank = the pod's index in the gang. Decode
      // runs DeepSeek's layout (every pod steps its own sequences, experts by all-to-all) unless the star is asked
      // for; prefill replicas keep the star (one leader URL, no forwarding of prompts).
      const layout = role === 'decode' ? replicaLayout(values['ep-layout'] ?? env[LAYOUT_ENV]) : 'star';
      const member = await joinReplica(modelPath, { ...opts, epSize: pods }, replicaRankEnv(env, pods, index), layout);
      if (!('engine' in member)) return followPod(member, role, port, host, graceMs);
      engine = member.engine;
      if (member.layout === 'alltoall') dataParallel = member;
      stops.push(() => engine.close(), () => member.dist.shutdown());
    } else {
      engine = await Engine.load(modelPath, opts);
      stops.push(() => engine.close());
    }
    const metrics = ServeMetrics.forEngine(role, engine, expertMetrics);
    server = createRoleServer({ role, engine, codec: { encode: encodeHandoff, decode: decodeHandoff }, log, metrics, spread: () => spread });
    const leader = index === 0;
    const cms = leader && (env[ServeEnv.placementConfigMap] || env[ServeEnv.loadConfigMap]) ? store() : undefined;
    if (cms) {
      const sync = new OperatorSync({
        store: cms, engine, role, log, placementConfigMap: env[ServeEnv.placementConfigMap], loadConfigMap: env[ServeEnv.loadConfigMap],
        podName: env[ServeEnv.podName] ?? `${role}-${env[ServeEnv.replica] ?? 0}`, replica: intOf(env[ServeEnv.replica], ServeEnv.replica, 0, 0),
      });
      await sync.start();
      stops.unshift(() => sync.stop());
    }
  }

  const addr = await server.listen(port, host);
  log({ msg: 'serving', role, url: server.url(), port: addr.port, model: modelName ?? null });
  let stopping = false;
  const shutdown = (signal: string, why = signal): void => {
    if (stopping) return;
    stopping = true;
    log({ msg: 'shutting down', signal, inFlight: server.requestsInFlight, graceSeconds: graceMs / 1000 });
    void server.shutdown(graceMs).then(async ({ cut }) => {
      for (const s of stops) await s().catch((e: Error) => log({ level: 'warn', msg: 'shutdown step failed', error: e.message }));
      log({ msg: 'stopped', why, cutRequests: cut });
      process.exit(0);
    });
  };
  if (dataParallel) {
    // The pods tell each other where they listen; the leader spreads new sequences over them.
    const urls = await exchangeUrls(dataParallel.urls, server.url());
    const leaderEngine = dataParallel.engine;
    if (dataParallel.rank === 0) spread = new PodSpread(urls, 0, () => leaderEngine.wakeReplica());
    log({ msg: 'data-parallel decode replica', pod: dataParallel.rank, pods: urls });
    // The leader closing ends the replica (once drained): a follower leaves with it. A pod of the replica gone ends
    // the lockstep with an error: this pod cannot serve alone (the watchdog ends the process too).
    dataParallel.engine.replicaDone!.then(() => shutdown('replica', 'the leader stopped the replica'), (e: Error) => {
      log({ level: 'error', msg: 'replica failed', error: e.message });
      process.exit(1);
    });
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * A follower pod of a multi-pod replica: it hosts its expert slots for the leader and serves only /healthz, /readyz
 * and /metrics (the controller routes a replica once all its pods are ready). It exits 0 when the leader stops the
 * replica, or on SIGTERM.
 */
async function followPod(member: { rank: number; done: Promise<unknown>; dist: { shutdown(): Promise<void> } }, role: string, port: number, host: string, graceMs: number): Promise<void> {
  const metrics = new ServeMetrics(role, { queue: () => 0, running: () => 0 });
  const server = new HttpServer({ metrics, routes: {}, notReady: () => undefined, log });
  await server.listen(port, host);
  log({ msg: 'serving expert shard', role, rank: member.rank, url: server.url() });
  let exiting = false;
  const exit = (why: string, code: number): void => {
    if (exiting) return;
    exiting = true;
    void server.shutdown(graceMs).then(() => member.dist.shutdown().catch(() => {})).then(() => {
      log({ msg: 'stopped', why });
      process.exit(code);
    });
  };
  member.done.then(() => exit('the leader stopped the replica', 0), (e: Error) => {
    log({ level: 'error', msg: 'expert shard failed', error: e.message });
    exit('expert shard failed', 1);
  });
  process.on('SIGTERM', () => exit('SIGTERM', 0));
  process.on('SIGINT', () => exit('SIGINT', 0));
}
