// Softmax and mean cross-entropy over rows of logits, both shifted by the row max so exp never overflows.

/** y[r] = softmax(logits[r]) for n rows of C classes. */
export function softmaxRows(logits: Float64Array, n: number, C: number, y: Float64Array): void {
  for (let r = 0; r < n; r++) {
    const o = r * C;
    let max = logits[o];
    for (let c = 1; c < C; c++) if (logits[o + c] > max) max = logits[o + c];
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(logits[o + c] - max);
      y[o + c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < C; c++) y[o + c] *= inv;
  }
}

/**
 * Mean cross-entropy of n rows against class indices, as
 * torch.nn.functional.cross_entropy(logits.reshape(-1, C), targets.reshape(-1)).
 * With `dlogits`, also writes its gradient (softmax − onehot) / n.
 */
export function crossEntropy(
  logits: Float64Array,
  targets: ArrayLike<number>,
  n: number,
  C: number,
  dlogits?: Float64Array,
): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * C;
    let max = logits[o];
    for (let c = 1; c < C; c++) if (logits[o + c] > max) max = logits[o + c];
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[o + c] - max);
    const logSum = Math.log(sum);
    const target = targets[r];
    // −log softmax(z)[target] = −(z_target − max − log Σ exp(z − max))
    total -= logits[o + target] - max - logSum;
    if (dlogits) {
      for (let c = 0; c < C; c++) dlogits[o + c] = Math.exp(logits[o + c] - max - logSum) / n;
      dlogits[o + target] -= 1 / n;
    }
  }
  return total / n;
}
