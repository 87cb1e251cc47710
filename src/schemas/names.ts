// The names the contract enumerates and the code branches on: what a grading question can ask for, and the
// built-in training tasks. Declared here, below grading and training, so that schemas and db may use them.
import { JACOBIAN_KEYS } from '../core/jacobian.js';
import { WEIGHT_KEYS } from '../core/model.js';

export const QUANTITIES = [
  'y',
  'y.shape',
  'logits',
  'h',
  'hT',
  'loss',
  ...WEIGHT_KEYS.map((k) => `grads.${k}` as const),
  'dh',
  'dx',
  'dh0',
  ...JACOBIAN_KEYS.map((k) => `jacobian.${k}` as const),
] as const;
export type Quantity = (typeof QUANTITIES)[number];

export const TASK_NAMES = ['parity', 'majority', 'copy-first', 'sign-of-sum'] as const;
export type TaskName = (typeof TASK_NAMES)[number];
