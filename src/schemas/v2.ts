// The Open Inference Protocol v2 (KServe, Triton, MLServer) as zod: inference requests and responses,
// metadata, health, and the {"error"} body. Field names are the spec's (snake_case), not ours.
import { z } from 'zod';
import { numel, packNested, unravel } from '../core/tensor.js';

/** The tensor data types x may be sent in; both compute in float64 (FP32 is rounded on the way in and out). */
export const V2_DATATYPES = ['FP32', 'FP64'] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

const MAX_NAME = 256;
/** Dimensions a shape may list; x needs 3, but a request is read before its model is known. */
const MAX_RANK = 16;
/** Inputs or outputs a request may list. */
const MAX_TENSORS = 16;

const name = z.string().min(1).max(MAX_NAME);
const paramValue = z.union([z.string(), z.number(), z.boolean()]);
export const Parameters = z
  .record(z.string(), paramValue)
  .meta({ description: 'name → string, number or boolean; parameters this server does not know are ignored' });

const SEQUENCE_PARAMS = ['sequence_id', 'sequence_start', 'sequence_end'];

/** Request parameters: Triton's sequence extension, plus any others (ignored, as the spec allows). */
export const RequestParameters = z
  .object({
    sequence_id: z
      .union([z.string().max(MAX_NAME), z.int().min(0).max(Number.MAX_SAFE_INTEGER)])
      .optional()
      .meta({ description: 'the sequence this request feeds (uint64 or string); 0 or "" means none' }),
    sequence_start: z.boolean().optional().meta({ description: 'true: start the sequence from h = 0' }),
    sequence_end: z.boolean().optional().meta({ description: 'true: forget the sequence after this chunk' }),
  })
  .catchall(paramValue)
  .superRefine((p, ctx) => {
    // a misspelt sequence parameter would silently make a stateless call
    for (const k of Object.keys(p))
      if (k.startsWith('sequence') && !SEQUENCE_PARAMS.includes(k))
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `unknown parameter; did you mean one of ${SEQUENCE_PARAMS}?`,
        });
  });

/** A decoded input: row-major float64 data (FP32 already rounded), with its shape and wire datatype. */
export interface InputTensor {
  name: string;
  datatype: V2Datatype;
  shape: number[];
  data: Float64Array;
  parameters?: Record<string, string | number | boolean>;
}

type Ctx = z.core.$RefinementCtx<unknown>;

/**
 * Flat (rank 1) or nested exactly like `shape`, in row-major order, finite in the datatype. A Float64Array is
 * flat data that arrived as binary (the binary tensor data extension, see http/v2-binary.ts).
 */
function decodeData(data: unknown, shape: number[], datatype: string, ctx: Ctx): Float64Array | null {
  const issue = (path: (string | number)[], message: string) => {
    ctx.addIssue({ code: 'custom', path, message });
    return null;
  };
  const want = numel(shape);
  const binary = data instanceof Float64Array;
  const flat = binary || (Array.isArray(data) && (data.length === 0 || !Array.isArray(data[0])));
  const count = flat ? (data as ArrayLike<unknown>).length : -1;
  // a count mismatch is worth reporting even for a datatype this server does not take
  if (flat && count !== want)
    issue(['data'], `data holds ${count} element${count === 1 ? '' : 's'}; shape [${shape}] needs ${want}`);
  if (!(V2_DATATYPES as readonly string[]).includes(datatype))
    return issue(['datatype'], `datatype ${datatype} is not supported: send ${V2_DATATYPES.join(' or ')}`);
  if (data === undefined) return issue(['data'], 'data is required (or binary data, with binary_data_size)');
  if (!binary && !Array.isArray(data)) return issue(['data'], 'data must be an array, flat or nested like shape');
  if (flat && count !== want) return null;
  if (want === 0) return new Float64Array(0); // a shape with a 0 in it: the model says what it needs
  let out: Float64Array;
  if (binary) out = data;
  else {
    const packed = packNested(data, flat ? 1 : shape.length);
    if (!packed.ok) return issue(['data', ...packed.path], packed.message);
    if (!flat && packed.shape.some((n, i) => n !== shape[i]))
      return issue(
        ['data'],
        `nested data is [${packed.shape}] but shape is [${shape}]; send it flat or nested like shape`,
      );
    out = packed.data;
  }
  const fp32 = datatype === 'FP32';
  for (let i = 0; i < out.length; i++) {
    const v = fp32 ? Math.fround(out[i]) : out[i];
    // v − v is NaN exactly for ±Infinity and NaN (binary data can hold them; JSON numbers out of FP32 range too)
    if (v - v !== 0)
      return issue(['data', ...(flat ? [i] : unravel(i, shape))], `${out[i]} is not finite${fp32 ? ' in FP32' : ''}`);
    out[i] = v;
  }
  return out;
}

export const InferInput = z
  .strictObject({
    name,
    shape: z.array(z.int().min(0).max(Number.MAX_SAFE_INTEGER)).max(MAX_RANK),
    datatype: z.string().max(MAX_NAME),
    parameters: Parameters.optional(),
    // optional here so that a missing data gets decodeData's message about binary tensors
    data: z.unknown().optional().meta({
      type: 'array',
      description: 'row-major tensor data, flat or nested like shape',
      items: {},
    }),
  })
  .transform((input, ctx): InputTensor => {
    const data = decodeData(input.data, input.shape, input.datatype, ctx);
    if (!data) return z.NEVER;
    return {
      name: input.name,
      datatype: input.datatype as V2Datatype,
      shape: input.shape,
      data,
      ...(input.parameters ? { parameters: input.parameters } : {}),
    };
  })
  .meta({ id: 'V2InferInput' });

export const RequestedOutput = z.strictObject({ name, parameters: Parameters.optional() });

export const InferRequest = z
  .strictObject({
    id: z.string().max(MAX_NAME).optional().meta({ description: 'echoed in the response' }),
    parameters: RequestParameters.optional(),
    inputs: z.array(InferInput).min(1).max(MAX_TENSORS),
    outputs: z
      .array(RequestedOutput)
      .max(MAX_TENSORS)
      .optional()
      .meta({ description: 'the outputs to return, by name; y and hT when absent' }),
  })
  .meta({ id: 'V2InferRequest' });
export type InferRequest = z.infer<typeof InferRequest>;

/** Response data: a Float64Array inside, a flat JSON array of numbers on the wire. */
const flatData = z
  .codec(
    z.unknown(),
    z.custom<Float64Array>((v) => v instanceof Float64Array, 'expected a Float64Array'),
    {
      decode: (v) => Float64Array.from(v as number[]),
      encode: (a) => Array.from(a) as unknown,
    },
  )
  .meta({ type: 'array', items: { type: 'number' }, description: 'flat, row-major' });

export const OutputTensor = z.strictObject({
  name: z.string(),
  shape: z.array(z.int()),
  datatype: z.enum(V2_DATATYPES),
  parameters: Parameters.optional(),
  data: flatData,
});
export type OutputTensor = z.infer<typeof OutputTensor>;

export const InferResponse = z
  .strictObject({
    model_name: z.string(),
    model_version: z.string().optional(),
    id: z.string().optional(),
    parameters: Parameters.optional(),
    outputs: z.array(OutputTensor),
  })
  .meta({ id: 'V2InferResponse' });
export type InferResponse = z.infer<typeof InferResponse>;

const MetadataTensor = z.strictObject({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.int()).meta({ description: '-1 marks a dimension of any size' }),
});
export type MetadataTensor = z.infer<typeof MetadataTensor>;

export const ModelMetadata = z
  .strictObject({
    name: z.string(),
    versions: z.array(z.string()).optional(),
    platform: z.string(),
    inputs: z.array(MetadataTensor),
    outputs: z.array(MetadataTensor),
  })
  .meta({ id: 'V2ModelMetadata' });
export type ModelMetadata = z.infer<typeof ModelMetadata>;

export const ServerMetadata = z
  .strictObject({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'V2ServerMetadata' });
export const ServerLive = z.strictObject({ live: z.boolean() });
export const ServerReady = z.strictObject({ ready: z.boolean() });
export const ModelReady = z.strictObject({ name: z.string(), ready: z.boolean() });

export const V2Error = z
  .strictObject({ error: z.string().meta({ description: 'what went wrong, naming the bad field' }) })
  .meta({ id: 'V2Error' });

export const ModelPath = z.strictObject({ name: z.string().min(1).max(128).meta({ description: 'model name or id' }) });
export const VersionPath = ModelPath.extend({
  version: z.string().min(1).max(32).meta({ description: 'the current version only' }),
});

/** A /v2 route's responses: its success schema, and {"error"} for every error. */
export function withV2Errors<S extends z.ZodType>(ok: S) {
  return { 200: ok, '4xx': V2Error, '5xx': V2Error };
}
