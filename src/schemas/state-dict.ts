// The two state_dict layouts weights may come in and go out as: the sheet's myRNN (U, W, V as nn.Linear)
// and the usual PyTorch model, torch.nn.RNN plus one nn.Linear head:
//   <rnn>.weight_ih_l0 (H, d) → U.weight     <rnn>.bias_ih_l0 + <rnn>.bias_hh_l0 (H) → W.bias
//   <rnn>.weight_hh_l0 (H, H) → W.weight     <head>.weight (C, H) → V.weight, <head>.bias (C) → V.bias
// nn.RNN(bias=False) and nn.Linear(bias=False) have no bias keys: their biases are zeros. Read back,
// W.bias goes to bias_ih_l0 and bias_hh_l0 is zeros, so the sum (what the cell adds) is W.bias exactly.
import { type Params, WEIGHT_KEYS, type WeightKey } from '../core/model.js';
import type { Issue } from './problem.js';
import { packTensor, Tensor, type TensorData } from './tensor.js';

export const LAYOUTS = ['myRNN', 'torch.nn.RNN'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Decoded weights: the myRNN keys, and for each the key it was sent as (for messages). */
export interface DecodedWeights {
  weights: Record<WeightKey, TensorData>;
  sourceKeys: Record<WeightKey, string>;
}

const AXES: Record<WeightKey, string> = {
  'U.weight': '(H, d)',
  'W.weight': '(H, H)',
  'W.bias': '(H)',
  'V.weight': '(C, H)',
  'V.bias': '(C)',
};
const RANK: Record<WeightKey, number> = { 'U.weight': 2, 'W.weight': 2, 'W.bias': 1, 'V.weight': 2, 'V.bias': 1 };

// <prefix.>weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0 …: every key nn.RNN / nn.LSTM / nn.GRU can write
const CELL_KEY = /^(?:(.*)\.)?(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$/;

const TORCH_KEYS = (rnn: string, head: string) => {
  const p = (prefix: string, k: string) => (prefix ? `${prefix}.${k}` : k);
  return {
    ih: p(rnn, 'weight_ih_l0'),
    hh: p(rnn, 'weight_hh_l0'),
    bih: p(rnn, 'bias_ih_l0'),
    bhh: p(rnn, 'bias_hh_l0'),
    fcw: p(head, 'weight'),
    fcb: p(head, 'bias'),
  };
};

/** Is this object a torch.nn.RNN state_dict (any key of an RNN cell)? */
export const isTorchLayout = (keys: readonly string[]) => keys.some((k) => CELL_KEY.test(k));

/** The edit distance of two short keys, to guess a typo. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function pack(obj: Record<string, unknown>, key: string, as: WeightKey, issues: Issue[]): TensorData | undefined {
  const r = packTensor(obj[key], { ranks: [RANK[as]], name: key, axes: AXES[as] });
  if (r.ok) return r.tensor;
  issues.push({ path: [key, ...r.path], message: r.message });
  return undefined;
}

const zeros = (n: number) => new Tensor(new Float64Array(n), [n]);

function decodeMyRnn(obj: Record<string, unknown>, issues: Issue[]): DecodedWeights | undefined {
  const keys = Object.keys(obj);
  const unknown = keys.filter((k) => !(WEIGHT_KEYS as readonly string[]).includes(k));
  const missing = WEIGHT_KEYS.filter((k) => !(k in obj));
  if (unknown.includes('weights') || unknown.includes('config')) {
    // a whole {config, weights} body where the state_dict alone belongs: the one thing to say
    const k = unknown.includes('weights') ? 'weights' : 'config';
    issues.push({
      path: [k],
      message: `unrecognized key "${k}": this body is the state_dict itself, {"U.weight": …, …}, not {"config", "weights"}`,
    });
    return undefined;
  }
  for (const k of missing) {
    const typo = unknown.find((u) => distance(u, k) <= 2);
    issues.push({
      path: [k],
      message: `${k} is missing; expected ${AXES[k]}${typo ? ` (is "${typo}" a misspelling of it?)` : ''}`,
    });
  }
  for (const k of unknown) {
    issues.push({
      path: [k],
      message: `unrecognized key "${k}": myRNN's keys are ${WEIGHT_KEYS.join(', ')}; torch.nn.RNN's are weight_ih_l0, weight_hh_l0, …`,
    });
  }
  const weights = {} as Record<WeightKey, TensorData>;
  for (const k of WEIGHT_KEYS) {
    if (!(k in obj)) continue;
    const t = pack(obj, k, k, issues);
    if (t) weights[k] = t;
  }
  if (issues.length) return undefined;
  return { weights, sourceKeys: Object.fromEntries(WEIGHT_KEYS.map((k) => [k, k])) as Record<WeightKey, string> };
}

function decodeTorch(obj: Record<string, unknown>, issues: Issue[]): DecodedWeights | undefined {
  const keys = Object.keys(obj);
  const cell = keys.filter((k) => CELL_KEY.test(k));
  // what makes a state_dict unsupported comes first: it is the one thing to fix
  for (const k of cell) {
    const [, , , kind, layer, reverse] = CELL_KEY.exec(k)!;
    if (kind === 'hr')
      issues.push({
        path: [k],
        message: `${k}: a projected RNN (proj_size > 0) is not supported; unroll's cell is h_t = act(U x_t + W h_{t-1} + b_W)`,
      });
    else if (layer !== '0')
      issues.push({
        path: [k],
        message: `${k}: a multi-layer nn.RNN (num_layers > 1) is not supported; unroll's network has one layer`,
      });
    else if (reverse)
      issues.push({
        path: [k],
        message: `${k}: a bidirectional nn.RNN is not supported; unroll runs forward in time only`,
      });
  }
  if (issues.length) return undefined;
  const prefixes = [...new Set(cell.map((k) => CELL_KEY.exec(k)![1] ?? ''))];
  if (prefixes.length > 1) {
    issues.push({ path: [], message: `${prefixes.length} nn.RNN modules (${prefixes.join(', ')}); one is supported` });
    return undefined;
  }
  const rnn = prefixes[0];
  const rest = keys.filter((k) => !CELL_KEY.test(k));
  const heads = [
    ...new Set(rest.filter((k) => /(^|\.)(weight|bias)$/.test(k)).map((k) => k.replace(/\.?(weight|bias)$/, ''))),
  ];
  for (const k of rest.filter((k) => !/(^|\.)(weight|bias)$/.test(k)))
    issues.push({
      path: [k],
      message: `unrecognized key "${k}": beside nn.RNN's keys, one nn.Linear head (<name>.weight, <name>.bias) is expected`,
    });
  if (heads.length > 1)
    issues.push({
      path: [],
      message: `${heads.length} nn.Linear heads (${heads.join(', ')}); one is supported, the readout V`,
    });
  const head = heads[0] ?? 'fc';
  const k = TORCH_KEYS(rnn, head);
  for (const [key, what] of [
    [k.ih, '(H, d), input_size = d'],
    [k.hh, '(H, H)'],
  ] as const)
    if (!(key in obj)) issues.push({ path: [key], message: `${key} is missing; expected ${what}` });
  if (heads.length === 0)
    issues.push({
      path: [k.fcw],
      message: `the nn.Linear head is missing: expected <name>.weight (C, H) and <name>.bias (C) beside ${rnn ? `${rnn}.` : ''}weight_ih_l0`,
    });
  else if (!(k.fcw in obj)) issues.push({ path: [k.fcw], message: `${k.fcw} is missing; expected (C, H)` });
  if (k.bih in obj !== k.bhh in obj) {
    const missing = k.bih in obj ? k.bhh : k.bih;
    issues.push({
      path: [missing],
      message: `${missing} is missing; expected (H) (nn.RNN(bias=False) has neither bias)`,
    });
  }
  if (issues.length) return undefined;
  const U = pack(obj, k.ih, 'U.weight', issues);
  const W = pack(obj, k.hh, 'W.weight', issues);
  const bih = k.bih in obj ? pack(obj, k.bih, 'W.bias', issues) : undefined;
  const bhh = k.bhh in obj ? pack(obj, k.bhh, 'W.bias', issues) : undefined;
  const V = pack(obj, k.fcw, 'V.weight', issues);
  const bV = k.fcb in obj ? pack(obj, k.fcb, 'V.bias', issues) : undefined;
  if (issues.length || !U || !W || !V) return undefined;
  if (bih && bhh && bih.shape[0] !== bhh.shape[0]) {
    issues.push({
      path: [k.bhh],
      message: `${k.bhh} is (${bhh.shape[0]}); expected (H) = (${bih.shape[0]}), as ${k.bih}`,
    });
    return undefined;
  }
  const H = U.shape[0];
  const bW =
    bih && bhh
      ? new Tensor(
          bih.data.map((v, i) => v + bhh.data[i]),
          bih.shape,
        )
      : zeros(H);
  return {
    weights: { 'U.weight': U, 'W.weight': W, 'W.bias': bW, 'V.weight': V, 'V.bias': bV ?? zeros(V.shape[0]) },
    sourceKeys: {
      'U.weight': k.ih,
      'W.weight': k.hh,
      'W.bias': bih ? k.bih : k.ih,
      'V.weight': k.fcw,
      'V.bias': bV ? k.fcb : k.fcw,
    },
  };
}

/** A state_dict in either layout as myRNN's weights, or the issues (paths relative to the state_dict). */
export function decodeStateDict(
  value: unknown,
): { ok: true; decoded: DecodedWeights } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got =
      value === undefined ? 'missing' : Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
    return {
      ok: false,
      issues: [
        { path: [], message: `the weights are ${got}; expected the state_dict as an object {key: nested list}` },
      ],
    };
  }
  const obj = value as Record<string, unknown>;
  const decoded = isTorchLayout(Object.keys(obj)) ? decodeTorch(obj, issues) : decodeMyRnn(obj, issues);
  return decoded ? { ok: true, decoded } : { ok: false, issues };
}

/** The keys torch.nn.RNN + nn.Linear name their weights, with the module prefixes given. */
export function torchStateDict(
  shapes: Record<WeightKey, readonly number[]>,
  p: Params,
  prefixes: { rnn: string; head: string },
): Record<string, TensorData> {
  const k = TORCH_KEYS(prefixes.rnn, prefixes.head);
  const t = (data: Float64Array, key: WeightKey) => new Tensor(data, shapes[key]);
  return {
    [k.ih]: t(p.U, 'U.weight'),
    [k.hh]: t(p.W, 'W.weight'),
    [k.bih]: t(p.bW, 'W.bias'),
    [k.bhh]: t(new Float64Array(p.bW.length), 'W.bias'),
    [k.fcw]: t(p.V, 'V.weight'),
    [k.fcb]: t(p.bV, 'V.bias'),
  };
}
