// Packing rules per topology level: which groups must (required) or should (preferred) stay inside one domain.
import { coordsOf } from '../parallelism.js';
import type { ClusterModel } from './topology.js';
import type { FieldError, PackingRule, ParallelismSpec } from '../types.js';

export interface RuleOutcome {
  errors: FieldError[];
  explanations: string[];
}

/** Unknown levels are reported before placement; violations after. */
export function ruleLevelErrors(rules: readonly PackingRule[], cluster: ClusterModel): FieldError[] {
  const names = cluster.levels.map((l) => l.name);
  return rules.flatMap((r, i) =>
    names.includes(r.level) ? [] : [{ field: `spec.packing.rules[${i}].level`, message: `unknown level "${r.level}"; the topology has ${names.join(', ')}` }],
  );
}

export function checkRules(rules: readonly PackingRule[], cluster: ClusterModel, p: ParallelismSpec, rankNode: ArrayLike<number>): RuleOutcome {
  const out: RuleOutcome = { errors: [], explanations: [] };
  rules.forEach((rule, i) => {
    const lv = cluster.levels.findIndex((l) => l.name === rule.level);
    if (lv < 0) return;
    const dom = (r: number) => cluster.nodes[rankNode[r]!]!.domain[lv]!;
    const broken: string[] = [];
    if (rule.group === 'expert') {
      const size = p.expert * p.tensor;
      for (let g = 0; g < rankNode.length; g += size) {
        const doms = new Set<number>();
        for (let r = g; r < g + size; r++) doms.add(dom(r));
        if (doms.size > 1) {
          const c = coordsOf(g, p);
          broken.push(`EP group (pp ${c.pp}, dp ${c.dp}) spans ${doms.size} ${rule.level} domains`);
        }
      }
    } else if (rule.group === 'pipelineNeighbours') {
      const stride = p.expert * p.tensor;
      for (let r = 0; r + stride < rankNode.length; r++) {
        if (coordsOf(r, p).pp === p.pipeline.stages - 1) continue;
        if (dom(r) !== dom(r + stride)) {
          const c = coordsOf(r, p);
          broken.push(`stages ${c.pp}→${c.pp + 1} of replica ${c.dp} cross ${rule.level}`);
          r += stride - 1; // one message per unit boundary is enough
        }
      }
    }
    if (broken.length === 0) return;
    const msg = `${broken.length} violation(s) of "${rule.group} within one ${rule.level}": ${broken.slice(0, 3).join('; ')}${broken.length > 3 ? '; …' : ''}`;
    if (rule.mode === 'required') {
      out.errors.push({ field: `spec.packing.rules[${i}]`, message: `${msg}; the fleet cannot satisfy it: free more nodes in one ${rule.level}, shrink the group, or make the rule preferred` });
    } else out.explanations.push(`preferred rule not met: ${msg}`);
  });
  return out;
}
