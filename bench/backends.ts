// The kernel backends a bench can pick by name: those that load on this machine.
import type { Kernels } from '../src/core/kernels.js';
import { jsKernels } from '../src/core/kernels-js.js';
import { type KernelChoice, loadKernels } from '../src/kernels.js';

export async function availableBackends(): Promise<string[]> {
  const names = ['js'];
  for (const name of ['wasm', 'blas'] as const) {
    try {
      loadKernels(name);
      names.push(name);
    } catch {
      // not built on this machine
    }
  }
  return names;
}

/** A backend by name, or `auto` for the one the service would pick. */
export async function backendByName(name: string): Promise<Kernels> {
  return name === 'js' ? jsKernels : loadKernels(name as KernelChoice).kernels;
}
