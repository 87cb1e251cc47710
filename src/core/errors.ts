// Domain errors of the numerical core; the HTTP layer maps each code to a status.

export class ShapeError extends Error {
  readonly code = 'SHAPE';
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
  readonly code = 'NON_FINITE';
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
  readonly code = 'CANCELLED';
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}
