// Picks this process's kernel backend at start-up: the fastest one that loads here and passes a self-check
// against the portable kernels, else the portable kernels. Each worker thread picks its own.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Config } from './config.js';
import type { Kernels } from './core/kernels.js';
import { type BlasGemm, createBlasKernels } from './core/kernels-blas.js';
import { jsKernels } from './core/kernels-js.js';
import { createWasmKernels } from './core/kernels-wasm.js';

/** UNROLL_KERNELS: auto, blas, wasm or js (the enum is declared once, in config.ts). */
export type KernelChoice = Config['UNROLL_KERNELS'];

/** wasm/build/kernels.wasm, compiled from wasm/kernels.ts by `npm run build:wasm` (run by npm ci and npm run build). */
export const WASM_FILE = new URL('../wasm/build/kernels.wasm', import.meta.url);
/** native/build/Release/unroll_blas.node, built by `npm ci` (scripts/build-native.mjs) when OpenBLAS and a compiler are there. */
export const BLAS_ADDON = new URL('../native/build/Release/unroll_blas.node', import.meta.url);

export interface LoadedKernels {
  kernels: Kernels;
  /** Why a faster backend was not used, when it was not. */
  fallback?: string;
}

/**
 * The backend for `choice`: auto takes the fastest that loads and passes its self-check (OpenBLAS for the
 * large products with wasm for the small ones, else wasm, else the portable kernels); a named one must load.
 */
export function loadKernels(choice: KernelChoice = 'auto'): LoadedKernels {
  if (choice === 'js') return { kernels: jsKernels };
  const reasons: string[] = [];
  let small: Kernels = jsKernels;
  try {
    small = checked(createWasmKernels(readFileSync(WASM_FILE)));
  } catch (e) {
    reasons.push(`the wasm kernels did not load: ${(e as Error).message}`);
    if (choice === 'wasm') throw new Error(reasons[0]);
  }
  if (choice === 'wasm') return { kernels: small };
  try {
    const gemm = (createRequire(import.meta.url)(BLAS_ADDON.pathname) as { gemm: BlasGemm }).gemm;
    return {
      kernels: checked(createBlasKernels(gemm, small)),
      ...(reasons.length ? { fallback: reasons.join('; ') } : {}),
    };
  } catch (e) {
    reasons.push(`the OpenBLAS addon did not load: ${(e as Error).message.split('\n')[0]}`);
    if (choice === 'blas') throw new Error(reasons.join('; '));
  }
  return { kernels: small, fallback: reasons.join('; ') };
}

function checked(k: Kernels): Kernels {
  selfCheck(k);
  return k;
}

/** The three products on odd sizes (below and above the native threshold) and strided views, against the portable kernels; throws on a mismatch. */
function selfCheck(k: Kernels): void {
  for (const [M, N, K] of [
    [7, 5, 9],
    [19, 23, 17],
  ])
    checkSizes(k, M, N, K);
}

function checkSizes(k: Kernels, M: number, N: number, K: number): void {
  const bufs = k.alloc([M * (K + 1), K * (N + 1) + N * (K + 1), M * (N + 2), M * (N + 2)]);
  try {
    const [A, B, C, ref] = bufs;
    let s = 1;
    for (const a of [A, B]) {
      for (let i = 0; i < a.length; i++) {
        s = (s * 16807) % 2147483647; // Park–Miller: any spread of values will do
        a[i] = (s / 2147483647) * 2 - 1;
      }
    }
    for (const op of ['gemmNN', 'gemmNT', 'gemmTN'] as const) {
      C.fill(0.5);
      ref.fill(0.5);
      const ld = op === 'gemmTN' ? M : K + 1;
      k[op](M, N, K, A, 0, ld, B, 0, op === 'gemmNT' ? K + 1 : N + 1, C, 0, N + 2);
      jsKernels[op](M, N, K, A, 0, ld, B, 0, op === 'gemmNT' ? K + 1 : N + 1, ref, 0, N + 2);
      for (let i = 0; i < C.length; i++) {
        if (!(Math.abs(C[i] - ref[i]) <= 1e-12 * (1 + Math.abs(ref[i]))))
          throw new Error(`${k.name} ${op} disagrees with the portable kernels`);
      }
    }
  } finally {
    k.release(bufs);
  }
}
