// Bounds checks shared by the kernel backends. Cheap (a few comparisons per gemm call), and they
// turn an out-of-range view into an error instead of NaNs (JS) or silent corruption (wasm).

/**
 * Throws unless the strided view (rows x cols at off, leading dimension ld) lies inside arr.
 * Offsets and strides must be integers (the wasm backend turns them into byte pointers), and rows
 * may not overlap (ld >= cols) unless there is only one row.
 */
export function checkView(what: string, arr: Float64Array, off: number, ld: number, rows: number, cols: number): void {
  if (
    !(
      Number.isInteger(off) &&
      Number.isInteger(ld) &&
      off >= 0 &&
      (ld >= cols || rows <= 1) &&
      off + (rows - 1) * ld + cols <= arr.length
    )
  ) {
    throw new RangeError(
      `${what}: view ${rows}x${cols} at offset ${off} with ld ${ld} does not fit in an array of length ${arr.length}`,
    );
  }
}
