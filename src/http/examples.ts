// The examples the OpenAPI document shows, so that "Try it out" in /docs sends a body its route accepts
// (left alone, the UI makes one up from the schema, with both weights and init). Each request example
// is valid against its own schema; test/http/openapi-examples.test.ts sends each one to its route.
// The path parameters name the model the POST /v1/models example creates, `tiny`.

const config = { inputSize: 2, hiddenSize: 3, outputSize: 2 };
const model = { config, init: { seed: 42 } };
const x = [
  [
    [0.5, -1.0],
    [1.5, 0.25],
    [-0.3, 0.8],
  ],
];
const stateDict = {
  'U.weight': [
    [0.1, -0.2],
    [0.3, 0.4],
    [-0.5, 0.6],
  ],
  'W.weight': [
    [0.1, 0.0, -0.1],
    [0.2, 0.1, 0.0],
    [0.0, -0.2, 0.1],
  ],
  'W.bias': [0.0, 0.1, -0.1],
  'V.weight': [
    [0.5, -0.5, 0.2],
    [-0.3, 0.4, 0.1],
  ],
  'V.bias': [0.0, 0.05],
};

/** Request body examples by "METHOD /path" as the document spells the path. */
export const REQUEST_EXAMPLES: Record<string, unknown> = {
  'POST /v1/forward': { model, x, include: ['h'] },
  'POST /v1/bptt': { model, x, targets: [1], include: ['dh'] },
  'POST /v1/jacobian': { model, x, wrt: ['U.weight'] },
  'POST /v1/gradcheck': { model, x, targets: [0] },
  'POST /v1/models': { name: 'tiny', config, init: { seed: 1 } },
  'PUT /v1/models/{id}/weights': stateDict,
  'POST /v1/models/{id}/forward': { x },
  'POST /v1/models/{id}/bptt': { x, targets: [1] },
  'POST /v1/models/{id}/jacobian': { x, wrt: ['W.weight'] },
  'POST /v1/models/{id}/gradcheck': { x, targets: [0] },
  'POST /v2/models/{name}/infer': {
    id: '42',
    inputs: [{ name: 'x', shape: [1, 3, 2], datatype: 'FP64', data: [0.5, -1.0, 1.5, 0.25, -0.3, 0.8] }],
    outputs: [{ name: 'y' }, { name: 'hT' }],
  },
  'POST /v2/models/{name}/versions/{version}/infer': {
    inputs: [{ name: 'x', shape: [1, 3, 2], datatype: 'FP64', data: [0.5, -1.0, 1.5, 0.25, -0.3, 0.8] }],
  },
  'POST /v1/assignments': { preset: 'sheet-ex2', title: 'Exercise 2' },
  'POST /v1/assignments/{id}/submissions': { student: 'alice', answers: { 'out-shape': [5, 3] } },
  'PATCH /v1/assignments/{id}': { title: 'Exercise 2, regraded', reason: 'a clearer title' },
  'POST /v1/assignments/{id}/roster': {
    students: [{ id: 'alice', name: 'Alice', email: 'alice@example.edu' }, 'bob'],
  },
  'POST /v1/assignments/{id}/regrade': { reason: 'the grader was fixed' },
  'POST /v1/trace': {
    model: { config: { inputSize: 1, hiddenSize: 1, outputSize: 2 }, init: { seed: 1 } },
    x: [[[1.0], [0.5]]],
    targets: [1],
    seed: { output: 'loss' },
  },
  'POST /v1/runs': { task: { name: 'copy-first', length: 8 }, steps: 200, name: 'first run' },
};

/** Path and query parameter examples by name (a parameter absent here gets none). */
export const PARAMETER_EXAMPLES: Record<string, unknown> = {
  id: 'tiny',
  name: 'tiny',
  version: '1',
  student: 'alice',
  submission: '5f0c2a64-1d0e-4f3b-9a57-2b8e6c1d4f90',
  slug: 'invalid-request',
  layout: 'torch.nn.RNN',
};
