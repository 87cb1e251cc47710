// The "start a run" form as data: its fields → the POST /v1/runs body, with the mistakes a person makes
// caught before sending, and the server's problem+json issue paths mapped back onto the form's fields.

/**
 * @typedef {object} TaskInfo
 * @property {string} name
 * @property {string} description
 * @property {{length?: number, symbols?: number, hiddenSize?: number, steps?: number, batchSize?: number,
 *   optimizer?: {name: string, lr?: number}, inputSize?: number, outputSize?: number, [k: string]: unknown}} defaults
 */

/** Integer fields, and the least value each accepts. */
const INTEGERS = { length: 1, symbols: 2, hiddenSize: 1, steps: 1, batchSize: 1, truncate: 1, seed: 0, hiddenEvery: 1 };
const POSITIVE = ['lr', 'clipNorm'];
/** Seed of the initial weights of a "custom" network. */
export const INIT_SEED = 0;

/**
 * Input and output sizes of a task's network: copy-first is one-hot over K symbols with K classes, the
 * others feed one number per step into two classes. The task list's own numbers win when it has them.
 * @param {TaskInfo} task @param {number} symbols
 */
export function taskDims(task, symbols) {
  const K = symbols || task.defaults.symbols || 2;
  const d = task.defaults.inputSize ?? (task.name === 'copy-first' ? K : 1);
  const C = task.defaults.outputSize ?? (task.name === 'copy-first' ? K : 2);
  return { d, C };
}

/**
 * @param {Record<string, string>} f the form's values by field name
 * @param {TaskInfo[]} tasks
 * @returns {{body: Record<string, unknown>, errors: {field: string, message: string}[]}}
 */
export function runBody(f, tasks) {
  /** @type {{field: string, message: string}[]} */
  const errors = [];
  /** @type {Record<string, number>} */
  const n = {};
  for (const [k, min] of Object.entries(INTEGERS)) {
    const s = (f[k] ?? '').trim();
    if (s === '') continue;
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) errors.push({ field: k, message: `a whole number ≥ ${min}` });
    else n[k] = v;
  }
  for (const k of POSITIVE) {
    const s = (f[k] ?? '').trim();
    if (s === '') continue;
    const v = Number(s);
    if (!(v > 0) || !Number.isFinite(v)) errors.push({ field: k, message: 'a number > 0' });
    else n[k] = v;
  }
  const task = tasks.find((t) => t.name === f.task);
  if (!task) errors.push({ field: 'task', message: 'choose a task' });
  /** @type {Record<string, unknown>} */
  const body = {};
  if (!task) return { body, errors };

  /** @type {Record<string, number>} */
  const taskOpts = { name: /** @type {any} */ (task.name) };
  if (n.length !== undefined) taskOpts.length = n.length;
  if (n.symbols !== undefined && task.name === 'copy-first') taskOpts.symbols = n.symbols;
  body.task = taskOpts;

  const model = f.model ?? 'default';
  if (model === 'custom') {
    const { d, C } = taskDims(task, n.symbols ?? 0);
    const H = n.hiddenSize ?? task.defaults.hiddenSize;
    if (!H) errors.push({ field: 'hiddenSize', message: 'give the hidden size H' });
    const activation = f.activation === 'relu' ? 'relu' : 'tanh';
    body.model = {
      config: { inputSize: d, hiddenSize: H, outputSize: C, activation, readout: 'last' },
      init: { seed: n.seed ?? INIT_SEED },
    };
  } else if (model.startsWith('stored:')) {
    body.modelId = model.slice('stored:'.length);
  }

  const optimizer = f.optimizer ?? '';
  if (optimizer) {
    if (optimizer !== 'adam' && (f.lr ?? '').trim() === '')
      errors.push({ field: 'lr', message: `${optimizer} needs a learning rate` });
    body.optimizer = { name: optimizer, ...(n.lr !== undefined ? { lr: n.lr } : {}) };
  } else if (n.lr !== undefined) {
    // a learning rate alone tunes the task's own optimizer
    body.optimizer = { ...(task.defaults.optimizer ?? { name: 'adam' }), lr: n.lr };
  }
  for (const k of ['steps', 'batchSize', 'clipNorm', 'truncate', 'seed', 'hiddenEvery']) {
    if (n[k] !== undefined) body[k] = n[k];
  }
  const name = (f.name ?? '').trim();
  if (name) body.name = name;
  return { body, errors };
}

/**
 * The form field a server issue is about, from its path in the body.
 * @param {(string | number)[]} path
 */
export function fieldOf(path) {
  const [head, next] = path;
  if (head === 'task') return next === 'symbols' ? 'symbols' : next === 'name' ? 'task' : 'length';
  if (head === 'model')
    return path.includes('hiddenSize') ? 'hiddenSize' : path.includes('activation') ? 'activation' : 'model';
  if (head === 'modelId') return 'model';
  if (head === 'optimizer') return next === 'lr' ? 'lr' : 'optimizer';
  return typeof head === 'string' ? head : '';
}
