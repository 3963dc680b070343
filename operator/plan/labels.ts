// Node label keys and resource names shared by the planner, the fleet generator and the local cluster harness
// (test/cluster/fleet.ts labels its simulated nodes with the same keys).
export const LABEL_NVLINK_DOMAIN = 'moe.io/nvlink-domain';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_LEAF = 'moe.io/leaf';
export const LABEL_SPINE = 'moe.io/spine';
export const GPU_RESOURCE = 'nvidia.com/gpu';
export const IB_RESOURCE = 'rdma/ib';
