// The cluster model: usable nodes in topology order with a domain id per level, plus the nodes left out and why.
// Levels run fastest → slowest (nvlink, host, leaf, spine); two nodes share a level when they carry the same value of
// its label. Traffic between two GPUs travels over the fastest level they share (or the core above every level).
import { LABEL_HOSTNAME } from '../labels.js';
import type { FieldError, NodeLike, Toleration, TopologyLevel, TopologySpec } from '../types.js';

export interface ClusterNode {
  name: string;
  gpus: number;
  /** Domain id of the node at each level (index = level). */
  domain: number[];
}

export interface ClusterModel {
  levels: TopologyLevel[];
  gpusPerNode: number;
  /** Usable nodes sorted slowest level first (spine, leaf, …, name): neighbours in this list are close. */
  nodes: ClusterNode[];
  /** Domain names per level, index = domain id. */
  domainNames: string[][];
  excluded: { name: string; reason: string }[];
}

export interface ClusterOptions {
  excludeNodes?: readonly string[];
  /** Tolerations of the job's pods; NoSchedule/NoExecute taints they do not tolerate exclude a node. */
  tolerations?: readonly Toleration[];
  /** Nodes with fewer free GPUs are excluded (a pod needs this many). */
  minGpus?: number;
}

/** Pods always tolerate the GPU taint that GPU node pools commonly carry. */
export const DEFAULT_TOLERATIONS: Toleration[] = [{ key: 'nvidia.com/gpu', operator: 'Exists' }];

export function topologyErrors(spec: TopologySpec, field = 'topology.spec'): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(spec?.levels) || spec.levels.length === 0) {
    return [{ field: `${field}.levels`, message: 'needs at least one level, fastest first (e.g. nvlink → moe.io/nvlink-domain)' }];
  }
  const names = new Set<string>();
  const labels = new Set<string>();
  spec.levels.forEach((l, i) => {
    const f = `${field}.levels[${i}]`;
    if (typeof l.name !== 'string' || !/^[a-z][a-z0-9-]{0,30}$/.test(l.name)) errs.push({ field: `${f}.name`, message: `must be a short lower-case name like "leaf", got ${JSON.stringify(l.name)}` });
    else if (names.has(l.name)) errs.push({ field: `${f}.name`, message: `level name "${l.name}" is used twice; give every level its own name` });
    names.add(l.name);
    if (typeof l.nodeLabel !== 'string' || l.nodeLabel === '') errs.push({ field: `${f}.nodeLabel`, message: 'must name the node label of this level, e.g. moe.io/leaf' });
    else if (labels.has(l.nodeLabel)) errs.push({ field: `${f}.nodeLabel`, message: `label "${l.nodeLabel}" is used by two levels; use one label per level` });
    labels.add(l.nodeLabel);
    if (typeof l.gbpsPerGpu !== 'number' || !(l.gbpsPerGpu > 0)) errs.push({ field: `${f}.gbpsPerGpu`, message: `must be a per-GPU bandwidth in GB/s > 0, got ${JSON.stringify(l.gbpsPerGpu)}` });
  });
  for (let i = 1; i < spec.levels.length; i++) {
    const a = spec.levels[i - 1]!;
    const b = spec.levels[i]!;
    if (a.gbpsPerGpu > 0 && b.gbpsPerGpu > a.gbpsPerGpu) {
      errs.push({ field: `${field}.levels[${i}].gbpsPerGpu`, message: `levels go fastest → slowest, but ${b.name} (${b.gbpsPerGpu}) is faster than ${a.name} (${a.gbpsPerGpu}); reorder the levels` });
    }
  }
  if (spec.gpusPerNode !== undefined && (!Number.isInteger(spec.gpusPerNode) || spec.gpusPerNode < 1)) {
    errs.push({ field: `${field}.gpusPerNode`, message: `must be a positive integer, got ${spec.gpusPerNode}` });
  }
  return errs;
}

function tolerated(t: { key: string; value?: string; effect: string }, tols: readonly Toleration[]): boolean {
  return tols.some((tol) => {
    if (tol.effect && tol.effect !== t.effect) return false;
    if (tol.key === undefined || tol.key === '') return tol.operator === 'Exists';
    if (tol.key !== t.key) return false;
    return tol.operator === 'Exists' || (tol.value ?? '') === (t.value ?? '');
  });
}

/** Compares strings with embedded numbers naturally (n2 < n10). */
export const natural = new Intl.Collator('en', { numeric: true }).compare;

function exclusionReason(n: NodeLike, spec: TopologySpec, opts: ClusterOptions): string | null {
  if (opts.excludeNodes?.includes(n.name)) return 'listed in spec.packing.excludeNodes';
  if (n.ready === false) return 'not Ready';
  if (n.unschedulable) return 'unschedulable (cordoned)';
  const tols = opts.tolerations ?? DEFAULT_TOLERATIONS;
  for (const t of n.taints ?? []) {
    if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerated(t, tols)) {
      return `taint ${t.key}${t.value ? `=${t.value}` : ''}:${t.effect} not tolerated by the job`;
    }
  }
  const min = Math.max(1, opts.minGpus ?? 1);
  if (!(n.allocatableGpus >= min)) return `${n.allocatableGpus} free GPUs (${spec.gpuResource ?? 'nvidia.com/gpu'}), a pod needs ${min}`;
  for (const [i, l] of spec.levels.entries()) {
    if (i > 0 && l.nodeLabel !== LABEL_HOSTNAME && n.labels[l.nodeLabel] === undefined) return `lacks label ${l.nodeLabel} (level ${l.name})`;
  }
  return null;
}

/** Builds the cluster model; throws only on an invalid spec (check topologyErrors first for field messages). */
export function buildCluster(input: readonly NodeLike[], spec: TopologySpec, opts: ClusterOptions = {}): ClusterModel {
  const errs = topologyErrors(spec);
  if (errs.length) throw new Error(errs.map((e) => `${e.field}: ${e.message}`).join('; '));
  const selector = Object.entries(spec.nodeSelector ?? {});
  const excluded: { name: string; reason: string }[] = [];
  const kept: { node: NodeLike; path: string[] }[] = [];
  for (const n of input) {
    if (selector.some(([k, v]) => n.labels[k] !== v)) continue; // not part of this fleet
    const reason = exclusionReason(n, spec, opts);
    if (reason) {
      excluded.push({ name: n.name, reason });
      continue;
    }
    // The fastest level (NVLink) defaults to the node itself; so does a level keyed on the hostname.
    const path = spec.levels.map((l, i) => n.labels[l.nodeLabel] ?? (i === 0 || l.nodeLabel === LABEL_HOSTNAME ? n.name : ''));
    kept.push({ node: n, path });
  }
  const L = spec.levels.length;
  // Sort by the network tiers (spine, leaf), then by NVLink domain, then host: nodes of one NVLink domain (which may
  // span hosts) end up next to each other, and so do the nodes of one leaf.
  const tierAt = Math.max(1, leafIndex(spec.levels));
  const keyOrder = [...Array.from({ length: L - tierAt }, (_, i) => L - 1 - i), ...Array.from({ length: Math.min(tierAt, L) }, (_, i) => i)];
  kept.sort((a, b) => {
    for (const i of keyOrder) {
      const c = natural(a.path[i]!, b.path[i]!);
      if (c) return c;
    }
    return natural(a.node.name, b.node.name);
  });
  const domainNames: string[][] = spec.levels.map(() => []);
  const ids: Map<string, number>[] = spec.levels.map(() => new Map());
  // A domain is named within the network tiers above it (leaf "l0" under spine s0 differs from "l0" under s1); the
  // fast levels (NVLink, host) need not nest, since an NVLink domain may span hosts.
  const tier = Math.max(1, leafIndex(spec.levels));
  const nodes: ClusterNode[] = kept.map(({ node, path }) => ({
    name: node.name,
    gpus: Math.min(node.allocatableGpus, spec.gpusPerNode ?? node.allocatableGpus),
    domain: path.map((v, i) => {
      const key = [v, ...path.slice(Math.max(i + 1, tier))].join('\u0000');
      let id = ids[i]!.get(key);
      if (id === undefined) {
        id = domainNames[i]!.length;
        ids[i]!.set(key, id);
        domainNames[i]!.push(v);
      }
      return id;
    }),
  }));
  excluded.sort((a, b) => natural(a.name, b.name));
  return { levels: spec.levels, gpusPerNode: spec.gpusPerNode ?? Math.max(0, ...nodes.map((n) => n.gpus)), nodes, domainNames, excluded };
}

/** Index of the fastest level two nodes share; levels.length when they share none (traffic crosses the core). */
export function sharedLevel(model: ClusterModel, a: number, b: number): number {
  const da = model.nodes[a]!.domain;
  const db = model.nodes[b]!.domain;
  for (let i = 0; i < da.length; i++) if (da[i] === db[i]) return i;
  return da.length;
}

/** Level names for reporting, with "core" for traffic above the slowest level. */
export function levelNames(model: ClusterModel): string[] {
  return [...model.levels.map((l) => l.name), 'core'];
}

/** Per-GPU bandwidth of each reporting level (core gets the slowest level's). */
export function levelBandwidths(model: ClusterModel): number[] {
  const bw = model.levels.map((l) => l.gbpsPerGpu);
  return [...bw, bw[bw.length - 1]!];
}

/** The level a job's groups should not cross: `leaf` if defined, else the second slowest level. */
export function leafLevel(model: ClusterModel): number {
  return leafIndex(model.levels);
}

function leafIndex(levels: readonly TopologyLevel[]): number {
  const i = levels.findIndex((l) => l.name === 'leaf');
  return i >= 0 ? i : Math.max(0, levels.length - 2);
}
