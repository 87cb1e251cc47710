// Every kernel backend the core can run on; each one passes the same oracle and kernel tests.
import type { Kernels } from '../../src/core/kernels.js';
import { jsKernels } from '../../src/core/kernels-js.js';

export const BACKENDS: Kernels[] = [jsKernels];
