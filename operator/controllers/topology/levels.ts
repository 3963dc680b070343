// Pure: the ClusterTopology status the operator keeps. A CRD printer column is one JSONPath whose FIRST match is
// printed, so `.spec.levels[*].name` shows only the fastest level; status.levels holds all names for the LEVELS column.
import type { IClusterTopology } from '../../api/types.gen.js';

/** "nvlink,host,leaf,spine": the level names, fastest link first. */
export function levelNames(spec: IClusterTopology['spec'] | undefined): string {
  return (spec?.levels ?? []).map((l) => l.name).join(',');
}

/** The status patch that brings status.levels up to date, or undefined when it already is. */
export function topologyStatusPatch(topo: Pick<IClusterTopology, 'spec' | 'status'>): { status: { levels: string } } | undefined {
  const levels = levelNames(topo.spec);
  return topo.status?.levels === levels ? undefined : { status: { levels } };
}
