// The local Kubernetes cluster for tests and the demo: real etcd, kube-apiserver, kube-scheduler and
// kube-controller-manager, a KWOK-simulated GPU fleet, and optionally real nodes (kubelet + containerd + runc, pods
// from OCI images; see node/) and process-runner nodes whose pods run as local processes. The control plane listens
// on loopback, or, with real nodes, on the host end of their link only. `startCluster()` returns once every
// component is healthy and every node is Ready.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ensurePki } from './pki.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { DEFAULT_FLEET, runnerNodes, simulatedNodes, type FleetShape } from './fleet.js';
import { freePort } from './ports.js';
import { isAlive, killAllSync, startComponent, tailLog, type Component } from './processes.js';
import { findBinaries, repoRoot } from './binaries.js';
import { removeCluster, stateRoot, sweepStale, writeOwner } from './state.js';
import { createNetwork } from './node/network.js';
import { advertiseGpus, startRealNodes, type RealNodes } from './node/index.js';
import { teardownNodes, writeNodesRecord } from './node/teardown.js';

const run = promisify(execFile);

export interface ClusterOptions {
  /** Simulated GPU nodes (KWOK); `{ spines: 0, ... }` for none. */
  fleet?: FleetShape;
  /** Nodes whose pods run as local processes (labelled moe.io/process-runner=true). */
  runnerNodes?: number;
  /** GPUs each runner node advertises (they are not real GPUs: the runner runs CPU processes). */
  runnerGpus?: number;
  /** Real kubelet + containerd nodes (labelled moe.io/real-node=true), named node-0, node-1, ... */
  realNodes?: number;
  /** GPUs each real node advertises as an extended resource (pods run on CPUs). */
  realNodeGpus?: number;
  /** OCI image archives loaded into every real node's containerd (e.g. from `make images`). */
  images?: string[];
  binDir?: string;
  /** State folder name under $MOE_CLUSTER_STATE (default: a fresh random name). */
  name?: string;
  /** 'process' (default): the cluster dies with this process; 'cli': it outlives it until `cluster down`. */
  owner?: 'process' | 'cli';
  timeoutMs?: number;
}

export interface ClusterInfo {
  name: string;
  stateDir: string;
  server: string;
  kubeconfigPath: string;
  binDir: string;
  fleet: FleetShape;
  runnerNodes: string[];
  realNodes: string[];
  ports: ControlPlane['ports'];
  /** How long each start-up phase took, in milliseconds. */
  timings: { controlPlaneMs: number; nodesCreatedMs: number; nodesReadyMs: number; totalMs: number };
}

export class LocalCluster implements ClusterInfo {
  readonly name: string;
  readonly stateDir: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly binDir: string;
  readonly fleet: FleetShape;
  readonly runnerNodes: string[];
  readonly realNodes: string[];
  readonly ports: ControlPlane['ports'];
  readonly timings: ClusterInfo['timings'];

  constructor(info: ClusterInfo) {
    this.name = info.name;
    this.stateDir = info.stateDir;
    this.server = info.server;
    this.kubeconfigPath = info.kubeconfigPath;
    this.binDir = info.binDir;
    this.fleet = info.fleet;
    this.runnerNodes = info.runnerNodes;
    this.realNodes = info.realNodes ?? [];
    this.ports = info.ports;
    this.timings = info.timings;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** Runs kubectl against this cluster; resolves with stdout, rejects with stderr in the message. */
  async kubectl(args: string[], input?: string): Promise<string> {
    return this.tool('kubectl', args, input);
  }

  async helm(args: string[]): Promise<string> {
    return this.tool('helm', args);
  }

  private async tool(name: string, args: string[], input?: string): Promise<string> {
    const env = { ...process.env, KUBECONFIG: this.kubeconfigPath, HELM_CACHE_HOME: join(this.stateDir, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(this.stateDir, 'helm', 'config'), HELM_DATA_HOME: join(this.stateDir, 'helm', 'data') };
    const p = run(join(this.binDir, name), args, { env, maxBuffer: 64 << 20 });
    if (input !== undefined) { p.child.stdin?.end(input); }
    try {
      return (await p).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** A runner pod's container log, as the process runner kept it. */
  podLog(namespace: string, pod: string, container: string): string {
    const pods = join(this.stateDir, 'pods');
    if (!existsSync(pods)) return '';
    const dirs = readdirSync(pods).sort().filter((d) => d.startsWith(`${namespace}_${pod}_`));
    return dirs.map((d) => {
      const f = join(pods, d, 'logs', `${container}.log`);
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    }).join('');
  }

  /** Component log (etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kwok, runner). */
  componentLog(name: string, lines = 50): string {
    return tailLog(join(this.stateDir, 'logs', `${name}.log`), lines);
  }

  async stop(): Promise<void> {
    await removeCluster(this.stateDir);
  }
}

async function createNodes(api: CoreV1Api, nodes: V1Node[], parallel = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < nodes.length) {
      const n = nodes[next++]!;
      await api.createNode({ body: n });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, nodes.length) }, worker));
}

async function waitNodesReady(api: CoreV1Api, want: number, timeoutMs: number, dead: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ready = 0;
  while (Date.now() < deadline) {
    const why = dead();
    if (why) throw new Error(why);
    const list = await api.listNode();
    // Ready, and the node lifecycle controller has lifted the taints it puts on new nodes (not-ready, and unreachable
    // when a heartbeat came late): only then do the scheduler and the planner see the node as usable.
    ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      && !n.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'))).length;
    if (ready >= want) return;
    await sleep(250);
  }
  throw new Error(`only ${ready} of ${want} nodes became Ready and untainted within ${timeoutMs} ms`);
}

async function waitDefaultServiceAccount(api: CoreV1Api, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await api.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return;
    } catch { await sleep(200); }
  }
  throw new Error(`the controller manager did not create the default ServiceAccount within ${timeoutMs} ms`);
}

export async function startCluster(opts: ClusterOptions = {}): Promise<LocalCluster> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const binDir = findBinaries(opts.binDir);
  await sweepStale();
  const name = opts.name ?? `c-${process.pid}-${randomBytes(3).toString('hex')}`;
  const stateDir = join(stateRoot(), name);
  if (existsSync(stateDir)) await removeCluster(stateDir);
  writeOwner(stateDir, opts.owner === 'cli' ? 'cli' : process.pid);
  const cleanup = () => { killAllSync(stateDir); teardownNodes(stateDir); };
  if (opts.owner !== 'cli') process.once('exit', cleanup);

  try {
    const realCount = opts.realNodes ?? 0;
    const net = realCount > 0 ? createNetwork(name, realCount) : undefined;
    if (net) writeNodesRecord(stateDir, { netns: net.netns, hostIf: net.hostIf, cgroupRoots: [], sockets: [] });
    const pki = ensurePki(join(stateDir, 'pki'), net ? [net.hostIp] : []);
    const cp = await startControlPlane(stateDir, binDir, pki, timeoutMs, net?.hostIp);
    const tControlPlane = Date.now();
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigs.admin);
    const api = kc.makeApiClient(CoreV1Api);
    const fleet = opts.fleet ?? DEFAULT_FLEET;
    const simulated = simulatedNodes(fleet);
    const runners = runnerNodes(opts.runnerNodes ?? 0, opts.runnerGpus ?? 8);
    await createNodes(api, [...simulated, ...runners]);
    const tCreated = Date.now();

    const components: Component[] = [];
    if (simulated.length) {
      const kwokPort = await freePort();
      components.push(startComponent(stateDir, 'kwok', join(binDir, 'kwok'), [
        `--kubeconfig=${cp.kubeconfigs.kwok}`, '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--config=${join(repoRoot(), 'test', 'cluster', 'kwok', 'stages.yaml')}`,
        `--server-address=127.0.0.1:${kwokPort}`, '--node-lease-duration-seconds=40', '--cidr=10.128.0.1/10',
        '--node-ip=10.0.0.1',
      ]));
    }
    if (runners.length) {
      const runnerMain = join(repoRoot(), 'dist', 'test', 'cluster', 'runner', 'main.js');
      components.push(startComponent(stateDir, 'runner', process.execPath, [
        '--enable-source-maps', runnerMain, `--kubeconfig=${cp.kubeconfigs.runner}`, `--state-dir=${stateDir}`,
        `--nodes=${runners.map((n) => n.metadata!.name).join(',')}`, `--api-port=${cp.ports.apiserver}`,
      ]));
    }
    let real: RealNodes = { names: [], components: [] };
    if (net) {
      real = await startRealNodes(stateDir, binDir, pki, cp.server, net, kc, {
        count: realCount, images: opts.images ?? [],
      });
      components.push(...real.components);
      await advertiseGpus(kc, real.names, opts.realNodeGpus ?? 8, timeoutMs, components);
    }
    const dead = () => {
      const c = components.find((x) => !isAlive(x.pid));
      return c ? `${c.name} exited; last log lines (${c.log}):\n${tailLog(c.log)}` : undefined;
    };
    await waitNodesReady(api, simulated.length + runners.length + real.names.length, timeoutMs, dead);
    const tReady = Date.now();
    await waitDefaultServiceAccount(api, timeoutMs);

    const info: ClusterInfo = {
      name, stateDir, server: cp.server, kubeconfigPath: cp.kubeconfigs.admin, binDir, fleet,
      runnerNodes: runners.map((n) => n.metadata!.name!), realNodes: real.names, ports: cp.ports,
      timings: { controlPlaneMs: tControlPlane - t0, nodesCreatedMs: tCreated - tControlPlane, nodesReadyMs: tReady - tCreated, totalMs: Date.now() - t0 },
    };
    writeFileSync(join(stateDir, 'cluster.json'), JSON.stringify(info, null, 2));
    return new LocalCluster(info);
  } catch (err) {
    await removeCluster(stateDir);
    process.removeListener('exit', cleanup);
    throw err;
  }
}

/** A cluster started earlier by `cluster up`, from its cluster.json. */
export function attachCluster(name = 'default'): LocalCluster {
  const file = join(stateRoot(), name, 'cluster.json');
  if (!existsSync(file)) throw new Error(`no local cluster named ${name} (looked for ${file}); start one with \`make cluster-up\``);
  return new LocalCluster(JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo);
}

export type { FleetShape } from './fleet.js';
