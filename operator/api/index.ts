export * from './types.gen.js';
export * from './constants.js';
export { applyDefaults } from './defaults.js';
