// The Elman network's configuration and parameters, named like the sheet's myRNN state_dict.

export type Activation = 'tanh' | 'relu';
export type Readout = 'last' | 'all';

export interface ElmanConfig {
  readonly inputSize: number; // d
  readonly hiddenSize: number; // H
  readonly outputSize: number; // C
  readonly activation: Activation;
  readonly readout: Readout;
}

/** Row-major parameters: a_t = U x_t + W h_{t-1} + bW, logits = V h + bV. */
export interface Params {
  U: Float64Array; // (H, d)
  W: Float64Array; // (H, H)
  bW: Float64Array; // (H)
  V: Float64Array; // (C, H)
  bV: Float64Array; // (C)
}

export interface ElmanModel {
  readonly config: ElmanConfig;
  readonly params: Params;
}

/** The state_dict keys, in the order the API lists them, and the Params field each one is. */
export const WEIGHT_KEYS = ['U.weight', 'W.weight', 'W.bias', 'V.weight', 'V.bias'] as const;
export type WeightKey = (typeof WEIGHT_KEYS)[number];
export const PARAM_OF: Readonly<Record<WeightKey, keyof Params>> = {
  'U.weight': 'U',
  'W.weight': 'W',
  'W.bias': 'bW',
  'V.weight': 'V',
  'V.bias': 'bV',
};

/** The shape of each weight for a config, as PyTorch reports it. */
export function weightShapes(
  c: Pick<ElmanConfig, 'inputSize' | 'hiddenSize' | 'outputSize'>,
): Record<WeightKey, number[]> {
  const { inputSize: d, hiddenSize: H, outputSize: C } = c;
  return { 'U.weight': [H, d], 'W.weight': [H, H], 'W.bias': [H], 'V.weight': [C, H], 'V.bias': [C] };
}

/** Fan-in of each weight: nn.Linear draws its weight and bias on (−1/√fan_in, 1/√fan_in). */
export function fanIn(c: Pick<ElmanConfig, 'inputSize' | 'hiddenSize'>): Record<WeightKey, number> {
  return {
    'U.weight': c.inputSize,
    'W.weight': c.hiddenSize,
    'W.bias': c.hiddenSize,
    'V.weight': c.hiddenSize,
    'V.bias': c.hiddenSize,
  };
}

export function zeroParams(c: ElmanConfig): Params {
  const { inputSize: d, hiddenSize: H, outputSize: C } = c;
  return {
    U: new Float64Array(H * d),
    W: new Float64Array(H * H),
    bW: new Float64Array(H),
    V: new Float64Array(C * H),
    bV: new Float64Array(C),
  };
}

export function cloneParams(p: Params): Params {
  return { U: p.U.slice(), W: p.W.slice(), bW: p.bW.slice(), V: p.V.slice(), bV: p.bV.slice() };
}

export function paramCount(c: ElmanConfig): number {
  const { inputSize: d, hiddenSize: H, outputSize: C } = c;
  return H * d + H * H + H + C * H + C;
}

/** Multiply-adds of one forward pass over (B, T): the unit the compute cap counts, B·T·H·(d+H). */
export function forwardCost(c: ElmanConfig, B: number, T: number): number {
  return B * T * c.hiddenSize * (c.inputSize + c.hiddenSize);
}
