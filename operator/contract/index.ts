// The contract between the operator and its pods (pure): one place for each message, its names and its checks.
// Both sides import it; README.md says which file holds what.
export * from './configmaps.js';
export * from './evaluation.js';
export * from './expert-placement.js';
export * from './grpo.js';
export * from './plan-document.js';
export * from './pod-env.js';
export * from './reports.js';
export * from './routes.js';
