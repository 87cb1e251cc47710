// The published contract: every zod schema with an id, as JSON Schema files in schemas/ (npm run schemas)
// for clients in other languages. A request schema is written as the client sends it (io "input": defaults
// optional); a response schema as the server sends it (io "output").
import { z } from 'zod';
import './compute.js';
import './grading.js';
import './model.js';
import './models.js';
import './problem.js';
import './reports.js';
import './runs.js';
import './stream.js';
import './trace.js';
import './v2.js';

/** Ids of the schemas a client receives; every other registered id is something a client sends. */
export const RESPONSE_IDS = new Set([
  'ForwardResponse',
  'BpttResponse',
  'JacobianResponse',
  'GradcheckResponse',
  'ModelSummary',
  'ModelDetail',
  'ModelList',
  'Problem',
]);

/** Every published schema by file name, with $refs between files as relative URIs (./Id.json). */
export function publishedSchemas(): Record<string, unknown> {
  const opts = {
    target: 'draft-2020-12' as const,
    unrepresentable: 'any' as const,
    uri: (id: string) => `./${id}.json`,
  };
  const input = z.toJSONSchema(z.globalRegistry, { ...opts, io: 'input' }).schemas;
  const output = z.toJSONSchema(z.globalRegistry, { ...opts, io: 'output' }).schemas;
  const files: Record<string, unknown> = {};
  for (const id of Object.keys(input).sort()) files[`${id}.json`] = RESPONSE_IDS.has(id) ? output[id] : input[id];
  return files;
}
