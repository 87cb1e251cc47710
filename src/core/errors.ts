// Domain errors of the numerical core; errorToProblem (src/problems.ts) gives each class its status.

export class ShapeError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[] = [],
  ) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** A value overflowed: names the tensor and the index (in the API's batch-first layout) that went first. */
export class NonFiniteError extends Error {
  constructor(
    readonly tensor: string,
    readonly index: number[],
    readonly value: number,
  ) {
    super(`${tensor}${index.map((i) => `[${i}]`).join('')} is ${value} (not finite)`);
    this.name = 'NonFiniteError';
  }
}

/** Cooperative cancellation: long loops poll a signal and throw this. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}
