// Triton's binary tensor data extension, request side (what tritonclient sends by default): the body is a
// JSON header of Inference-Header-Content-Length bytes, then each input's raw little-endian bytes, in input
// order, for the inputs whose parameters give binary_data_size. Here (not in http/) so that a pool worker
// can split a large body exactly as the event loop splits a small one (compute/offload.ts).
import { AppError } from '../errors.js';

export const INFERENCE_HEADER = 'inference-header-content-length';
const BYTES: Record<string, number> = { FP32: 4, FP64: 8 };

type Json = Record<string, unknown>;
const bad = (message: string) => new AppError('invalid-request', `binary tensor data: ${message}`);

/** The JSON header with each binary input's bytes decoded into its data (a Float64Array, read as flat data). */
export function splitBinaryBody(body: Buffer, headerLength: number): unknown {
  if (!(Number.isInteger(headerLength) && headerLength > 0 && headerLength <= body.length))
    throw bad(`${INFERENCE_HEADER} is ${headerLength}; the body has ${body.length} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
  } catch (e) {
    throw new AppError('malformed-json', `the inference header is not valid JSON: ${(e as Error).message}`);
  }
  let offset = headerLength;
  const inputs = (header as Json | null)?.inputs;
  if (Array.isArray(inputs))
    inputs.forEach((input: Json, i) => {
      const size = (input?.parameters as Json | undefined)?.binary_data_size;
      if (size === undefined) return;
      const width = BYTES[input.datatype as string];
      // other datatypes are left without data: the schema then names the datatype
      if (!width) return;
      if (!(Number.isInteger(size) && (size as number) >= 0 && (size as number) % width === 0))
        throw bad(`inputs[${i}].parameters.binary_data_size = ${size} is not a multiple of ${width} bytes`);
      if (offset + (size as number) > body.length)
        throw bad(`inputs[${i}] needs ${size} bytes; ${body.length - offset} are left`);
      input.data = decode(body, offset, size as number, width);
      offset += size as number;
    });
  if (offset !== body.length) throw bad(`${body.length - offset} bytes after the last input are not claimed`);
  return header;
}

function decode(body: Buffer, offset: number, size: number, width: number): Float64Array {
  const n = size / width;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = width === 4 ? body.readFloatLE(offset + i * width) : body.readDoubleLE(offset + i * width);
  return out;
}
