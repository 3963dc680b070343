#!/usr/bin/env node
// moectl (also installed as kubectl-moe, so `kubectl moe plan …` works): plans a MoETrainingJob on a fleet.
//   moectl plan JOB.yaml --fleet 2x4x32x8 [--topology TOPO.yaml] [--exclude n1,n2] [--svg FILE] [-o json|text]
//   moectl plan JOB.yaml --kubeconfig PATH [--context NAME]
//   kubectl get moeeval NAME -o json | moectl eval-report - [--svg FILE]
// Exit codes: 0 planned; 1 the job cannot be planned (each error names the field); 2 bad usage or unreadable input.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultTopology, fleetNodes, parseFleetShape } from '../plan/placement/fleet.js';
import { planTrainingJob } from '../plan/index.js';
import type { NodeLike, TopologySpec } from '../plan/types.js';
import { InputError, parseJobYaml, parseTopologyYaml } from './load-job.js';
import { renderSvg } from './render-svg.js';
import { renderText } from './render-text.js';

const USAGE = `usage: moectl plan JOB.yaml (--fleet SPINESxLEAVESxNODESxGPUS | --kubeconfig PATH [--context NAME])
                   [--topology TOPOLOGY.yaml] [--exclude NODE,NODE] [--svg FILE] [-o text|json]
       moectl report RUN_DIR [OTHER_RUN_DIR ...]
       moectl eval-report EVALUATION.json|- [--svg FILE]

Plans a MoETrainingJob: world size and pods, placement on the topology (spine/leaf/node picture), traffic per
level, memory per GPU and the pipeline schedule timeline. --fleet uses a synthetic fat-tree (e.g. 2x4x32x8 =
2 spines × 4 leaves × 32 nodes × 8 GPUs); --kubeconfig reads the Nodes and the job's ClusterTopology.
report draws a training run's loss curve, FP8-vs-BF16 comparison (against the other runs) and expert-load heatmap
as SVG files in RUN_DIR/report/.
eval-report draws a MoEEvaluation's scores over checkpoints (one line per task and metric) from its status, as
kubectl get moeeval NAME -o json prints it (- reads stdin), into FILE (default NAME-scores.svg).`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        fleet: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        topology: { type: 'string' },
        exclude: { type: 'string' },
        svg: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = args;
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const [cmd, file, ...rest] = positionals;
  if (cmd === 'report') {
    if (!file) throw new UsageError('report: give the run directory (the --run-dir of moe-runtime train)');
    // The same report writer as `moe-runtime report` (operator/report), not a second one.
    const { writeReport } = await import('../report/training-report.js');
    for (const svg of writeReport(file, rest)) process.stdout.write(`${svg}\n`);
    return 0;
  }
  if (cmd === 'eval-report') {
    if (!file) throw new UsageError('eval-report: give the MoEEvaluation JSON file (kubectl get moeeval NAME -o json), or - for stdin');
    if (rest.length) throw new UsageError(`eval-report: unexpected arguments ${rest.join(' ')}`);
    const { evalScoresSvg, parseEvaluation } = await import('../report/eval-scores.js');
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new InputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let ev;
    try {
      ev = parseEvaluation(text, file === '-' ? 'stdin' : file);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    const out = values.svg ?? `${ev.metadata?.name ?? 'evaluation'}-scores.svg`;
    writeFileSync(out, evalScoresSvg(ev));
    process.stdout.write(`${out}\n`);
    return 0;
  }
  if (cmd !== 'plan') throw new UsageError(`unknown command "${cmd}"; the commands are "plan", "report" and "eval-report"`);
  if (!file) throw new UsageError('plan: give the MoETrainingJob YAML file');
  if (rest.length) throw new UsageError(`plan: unexpected arguments ${rest.join(' ')}`);
  if (values.output !== 'text' && values.output !== 'json') throw new UsageError(`-o/--output: expected text or json, got "${values.output}"`);
  if (values.fleet && values.kubeconfig) throw new UsageError('give either --fleet or --kubeconfig, not both');

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const job = parseJobYaml(text, file);

  let nodes: NodeLike[];
  let topology: TopologySpec;
  if (values.kubeconfig !== undefined || !values.fleet) {
    if (!values.kubeconfig && !process.env.KUBECONFIG && !values.fleet) {
      throw new UsageError('give --fleet SxLxNxG for a synthetic fleet, or --kubeconfig PATH (or set KUBECONFIG) to read a cluster');
    }
    const { readCluster } = await import('./kube-source.js');
    const ref = (job.spec.topologyRef as { name?: string } | undefined)?.name ?? 'default';
    ({ nodes, topology } = await readCluster(values.kubeconfig, values.context, ref));
  } else {
    const shape = parseFleetShape(values.fleet);
    nodes = fleetNodes(shape);
    topology = defaultTopology(shape.gpusPerNode);
  }
  if (values.topology) topology = parseTopologyFile(values.topology);
  else if (job.topology && values.fleet) topology = job.topology.spec;

  const result = planTrainingJob({
    model: job.spec.model,
    parallelism: job.spec.parallelism,
    training: job.spec.training,
    packing: job.spec.packing,
    nodes,
    topology,
    ...(values.exclude ? { excludeNodes: values.exclude.split(',').filter(Boolean) } : {}),
    baselines: true,
  });
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`error: ${e.field}: ${e.message}\n`);
    return 1;
  }
  if (values.svg) writeFileSync(values.svg, renderSvg(result.plan, nodes, topology, job.name));
  if (values.output === 'json') process.stdout.write(JSON.stringify(result.plan) + '\n');
  else process.stdout.write(renderText(result.plan, nodes, topology, job.name));
  return 0;
}

function parseTopologyFile(path: string): TopologySpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`--topology ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseTopologyYaml(text, path);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`moectl: ${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`moectl: ${msg}\n`);
    process.exit(e instanceof InputError ? 2 : 1);
  },
);
