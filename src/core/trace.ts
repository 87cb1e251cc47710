// The teaching trace: the unrolled network of a tiny model as a Wengert list, one node per scalar operation,
// numbered in the order Exercise 3 writes them (w_1 = x_0, w_2 = U, w_3 = w_1·w_2, w_4 = tanh(w_3) = h_0),
// with each node's forward value and its adjoint after a reverse sweep seeded at h_t or at the loss.
// A scalar tape is fine here (DESIGN.md): it is for reading, never for the numerics the service runs on.
import { NonFiniteError } from './errors.js';
import { type ElmanModel, PARAM_OF, type Params, WEIGHT_KEYS, zeroParams } from './model.js';

export const TRACE_OPS = ['input', 'param', 'mul', 'add', 'tanh', 'relu', 'exp', 'log', 'sub', 'mean'] as const;
export type TraceOp = (typeof TRACE_OPS)[number];

export interface TraceNode {
  id: number; // w_id, from 1
  op: TraceOp;
  inputs: number[];
  /** What the node is in the model: x_0, U, h_1, the loss… (leaves always, results where the sheet names them). */
  name?: string;
  value: number;
  adjoint: number;
}

export type TraceSeed = { output: 'h'; b: number; t: number; i: number } | { output: 'loss' };

export interface TraceInput {
  model: ElmanModel;
  x: Float64Array; // (B, T, d)
  B: number;
  T: number;
  h0: Float64Array | null; // (B, H); absent: h_{−1} = 0 and its products are left out, as in the sheet
  targets: Float64Array | null; // (B) or (B, T); needed for a loss seed
  seed: TraceSeed;
}

export interface TraceResult {
  nodes: TraceNode[];
  /** The seeded node: the reverse sweep starts there with adjoint 1. */
  output: number;
  /** d output / d weight, from the adjoints of the parameter leaves (0 for an element the graph never uses). */
  grads: Params;
}

/** "[b,i]" when any of the dims is longer than 1, else "" (a scalar network's x_0, U, h_1). */
const at = (dims: number[], ix: number[]) => (dims.some((n) => n > 1) ? `[${ix.join(',')}]` : '');

export function trace(inp: TraceInput): TraceResult {
  const { config, params } = inp.model;
  const { inputSize: d, hiddenSize: H, outputSize: C } = config;
  const { B, T, x, seed } = inp;
  const nodes: TraceNode[] = [];
  const leaves = new Map<string, number>();
  const push = (op: TraceOp, inputs: number[], value: number, name?: string): number => {
    if (value - value !== 0) throw new NonFiniteError('trace', [nodes.length + 1], value);
    nodes.push({ id: nodes.length + 1, op, inputs, value, adjoint: 0, ...(name ? { name } : {}) });
    return nodes.length;
  };
  const v = (id: number) => nodes[id - 1].value;
  // a leaf appears when first used, so the list reads in the order the computation touches it
  const leaf = (name: string, value: number) => {
    const id = leaves.get(name) ?? push('input', [], value, name);
    leaves.set(name, id);
    return id;
  };
  // paramIds[key][element]: the leaf of each weight element, 0 until it is first used
  const paramIds = zeroParams(config);
  const param = (key: keyof Params, dims: number[], ix: number[], label: string) => {
    const e = ix.reduce((o, n, k) => o * dims[k] + n, 0);
    paramIds[key][e] ||= push('param', [], params[key][e], `${label}${at(dims, ix)}`);
    return paramIds[key][e];
  };
  const mul = (a: number, b: number) => push('mul', a < b ? [a, b] : [b, a], v(a) * v(b));
  const sum = (terms: number[], name: string) => {
    if (terms.length === 1) {
      nodes[terms[0] - 1].name ??= name;
      return terms[0];
    }
    return push(
      'add',
      terms,
      terms.reduce((s, id) => s + v(id), 0),
      name,
    );
  };

  const relu = config.activation === 'relu';
  const all = config.readout === 'all';
  const lastT = seed.output === 'h' ? seed.t : T - 1;
  const batches = seed.output === 'h' ? [seed.b] : Array.from({ length: B }, (_, b) => b);
  const hs: number[][][] = []; // hs[b][t][i]: the node of h_t[b, i]
  const losses: number[] = [];
  let output = 0;
  for (const b of batches) {
    hs[b] = [];
    for (let t = 0; t <= lastT; t++) {
      const h: number[] = [];
      for (let i = 0; i < H; i++) {
        // a_t[i] = Σ_k U[i,k] x_t[k] + Σ_j W[i,j] h_{t−1}[j] + b_W[i]
        const terms: number[] = [];
        for (let k = 0; k < d; k++) {
          const xk = leaf(`x_${t}${at([B, d], [b, k])}`, x[(b * T + t) * d + k]);
          terms.push(mul(xk, param('U', [H, d], [i, k], 'U')));
        }
        if (t > 0 || inp.h0)
          for (let j = 0; j < H; j++) {
            const w = param('W', [H, H], [i, j], 'W');
            const prev = t > 0 ? hs[b][t - 1][j] : leaf(`h_-1${at([B, H], [b, j])}`, inp.h0![b * H + j]);
            terms.push(mul(w, prev));
          }
        // a bias of exactly 0 is left out, as the sheet's equations have none
        if (params.bW[i] !== 0) terms.push(param('bW', [H], [i], 'b_W'));
        const a = sum(terms, `a_${t}${at([B, H], [b, i])}`);
        h.push(
          push(relu ? 'relu' : 'tanh', [a], relu ? Math.max(v(a), 0) : Math.tanh(v(a)), `h_${t}${at([B, H], [b, i])}`),
        );
        if (seed.output === 'h' && t === seed.t && i === seed.i) output = h[i];
      }
      hs[b].push(h);
      if (seed.output === 'loss' && (all || t === T - 1)) losses.push(crossEntropy(b, t, h));
    }
  }

  // −log softmax(z)[target] = log Σ_c exp(z_c) − z_target, without the max shift: sizes are tiny, and an
  // overflow is reported (NonFiniteError) rather than hidden
  function crossEntropy(b: number, t: number, h: number[]): number {
    const z: number[] = [];
    for (let c = 0; c < C; c++) {
      const terms = h.map((hi, i) => mul(param('V', [C, H], [c, i], 'V'), hi));
      if (params.bV[c] !== 0) terms.push(param('bV', [C], [c], 'b_V'));
      z.push(sum(terms, `z${all ? `_${t}` : ''}${at([B, C], [b, c])}`));
    }
    const e = z.map((zc) => push('exp', [zc], Math.exp(v(zc))));
    const s =
      e.length === 1
        ? e[0]
        : push(
            'add',
            e,
            e.reduce((acc, id) => acc + v(id), 0),
          );
    const l = push('log', [s], Math.log(v(s)));
    const target = z[inp.targets![all ? b * T + t : b]];
    return push('sub', [l, target], v(l) - v(target));
  }
  if (seed.output === 'loss')
    output =
      losses.length === 1
        ? losses[0]
        : push('mean', losses, losses.reduce((s, id) => s + v(id), 0) / losses.length, 'loss');
  if (seed.output === 'loss' && losses.length === 1) nodes[output - 1].name = 'loss';

  // nothing built after the output can reach it
  nodes.length = output;
  reverseSweep(nodes, output);
  const grads = zeroParams(config);
  for (const key of WEIGHT_KEYS) {
    const p = PARAM_OF[key];
    paramIds[p].forEach((id, e) => {
      if (id > 0 && id <= output) grads[p][e] = nodes[id - 1].adjoint;
    });
  }
  return { nodes, output, grads };
}

/** Adjoints: w̄_output = 1 (the seed), then each node, last to first, passes w̄ · ∂w/∂input to its inputs. */
function reverseSweep(nodes: TraceNode[], output: number): void {
  const v = (id: number) => nodes[id - 1].value;
  const add = (id: number, g: number) => {
    nodes[id - 1].adjoint += g;
  };
  nodes[output - 1].adjoint = 1;
  for (let id = output; id >= 1; id--) {
    const n = nodes[id - 1];
    const g = n.adjoint;
    const [a, b] = n.inputs;
    switch (n.op) {
      case 'mul':
        add(a, g * v(b));
        add(b, g * v(a));
        break;
      case 'add':
        for (const i of n.inputs) add(i, g);
        break;
      case 'mean':
        for (const i of n.inputs) add(i, g / n.inputs.length);
        break;
      case 'sub':
        add(a, g);
        add(b, -g);
        break;
      case 'tanh':
        add(a, g * (1 - n.value * n.value));
        break;
      case 'relu':
        add(a, n.value > 0 ? g : 0); // relu'(0) = 0, as PyTorch
        break;
      case 'exp':
        add(a, g * n.value);
        break;
      case 'log':
        add(a, g / v(a));
        break;
    }
  }
}
