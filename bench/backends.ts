// The kernel backends a bench can pick by name.
import type { Kernels } from '../src/core/kernels.js';
import { jsKernels } from '../src/core/kernels-js.js';

export async function availableBackends(): Promise<string[]> {
  return ['js'];
}

export async function backendByName(name: string): Promise<Kernels> {
  if (name === 'js') return jsKernels;
  throw new Error(`unknown backend ${name}`);
}
