// Every kernel backend the core can run on; each one passes the same oracle and kernel tests.
// The wasm backend must load here (npm test builds it first): a missing build fails, never skips.
import type { Kernels } from '../../src/core/kernels.js';
import { jsKernels } from '../../src/core/kernels-js.js';
import { loadKernels } from '../../src/kernels.js';

export const BACKENDS: Kernels[] = [jsKernels, loadKernels('wasm').kernels];
