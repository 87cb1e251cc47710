// Every kernel backend the core can run on; each one passes the same oracle and kernel tests.
// The wasm backend must load here (npm test builds it first): a missing build fails, never skips. The
// OpenBLAS backend is optional (it needs libopenblas-dev when npm ci builds it); when it is absent the
// suite says so and runs the others.
import type { Kernels } from '../../src/core/kernels.js';
import { jsKernels } from '../../src/core/kernels-js.js';
import { loadKernels } from '../../src/kernels.js';

function blasIfBuilt(): Kernels[] {
  try {
    return [loadKernels('blas').kernels];
  } catch (e) {
    console.warn(`note: the OpenBLAS backend is not tested here: ${(e as Error).message}`);
    return [];
  }
}

export const BACKENDS: Kernels[] = [jsKernels, loadKernels('wasm').kernels, ...blasIfBuilt()];
