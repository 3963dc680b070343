// GRPO's layout rule (pure), one definition for the operator's validation (controllers/mtj/validate.ts) and the
// runtime's check before it starts (runtime/src/parallel/dp-grpo.ts): the rollouts run the serving engine over each
// rank's own weights, so every rank must hold the whole model.

/** Why this layout cannot run training.mode grpo, naming the fix; undefined when it can. */
export function grpoLayoutProblem(layout: { pp: number; ep: number; dp: number }, promptsPerStep: number): string | undefined {
  if (layout.pp > 1 || layout.ep > 1) {
    return 'training.mode grpo needs every rank to hold the whole model (the rollouts run the serving engine over the rank\'s own weights): ' +
      `set parallelism.pipeline.stages 1 and parallelism.expert 1 and scale with parallelism.data (ZeRO-1 shards the optimizer); got pipeline ${layout.pp}, expert ${layout.ep}`;
  }
  if (promptsPerStep % layout.dp !== 0) return `training.grpo.promptsPerStep ${promptsPerStep} must be a multiple of the data-parallel size ${layout.dp} (each rank rolls out an equal share)`;
  return undefined;
}
