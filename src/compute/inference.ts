// The Open Inference Protocol v2 over stored models: server and model metadata, readiness, and infer, which
// checks a request against its model, runs it (statelessly or as a chunk of a sequence) and lays out outputs.
import type { ModelSummary, StoredModel } from '../db/models.repo.js';
import { AppError, RequestValidationError } from '../errors.js';
import type { Issue } from '../schemas/problem.js';
import type {
  InferRequest,
  InferResponse,
  MetadataTensor,
  ModelMetadata,
  OutputTensor,
  V2Datatype,
} from '../schemas/v2.js';
import type { ModelService } from './models.js';
import type { Readiness } from './readiness.js';
import type { SequenceFlags, SequenceService } from './sequences.js';
import type { AnswerHold } from './service.js';
import type { ForwardOut } from './tasks.js';

export const SERVER_NAME = 'unroll';
/** Triton's names: stateful sequences, with string ids as well as uint64 ones. */
export const EXTENSIONS = ['sequence', 'sequence(string_id)'];
/** "<project>_<format>", as the spec's platform names go. */
export const PLATFORM = 'unroll_elman';
/** The datatype metadata reports: the one the model computes in (FP32 is accepted too). */
const NATIVE: V2Datatype = 'FP64';
export const OUTPUT_NAMES = ['y', 'h', 'hT'] as const;
type OutputName = (typeof OUTPUT_NAMES)[number];
/** What infer returns when the request lists no outputs: h is T times larger than hT, so it is on request. */
const DEFAULT_OUTPUTS: readonly OutputName[] = ['y', 'hT'];
const ANY = -1;

export interface InferenceDeps {
  models: ModelService;
  sequences: SequenceService;
  readiness: Readiness;
  version: string;
}

/** The model, if `version` (when asked for) is its current one: only that one exists. */
function current<M extends ModelSummary>(m: M, name: string, version?: string): M {
  if (version !== undefined && version !== String(m.version))
    throw new AppError(
      'not-found',
      `model "${name}" has version ${m.version} only (its current weights); version ${version} is not kept`,
    );
  return m;
}

export class InferenceService {
  constructor(private readonly deps: InferenceDeps) {}

  server() {
    return { name: SERVER_NAME, version: this.deps.version, extensions: [...EXTENSIONS] };
  }

  /** Ready when the database answers and the pool (if any: null computes inline) has threads; else 503. */
  async ready(): Promise<{ ready: true }> {
    await this.deps.readiness.check();
    return { ready: true };
  }

  /** A stored model by name or id; with a version, only the current one exists (weights are replaced in place). */
  async model(name: string, version?: string): Promise<StoredModel> {
    return current(await this.deps.models.get(name), name, version);
  }

  /** The model's summary only (metadata and readiness need no weights: 64 MB of reads at UNROLL_MAX_PARAMS). */
  private async summary(name: string, version?: string): Promise<ModelSummary> {
    return current(await this.deps.models.find(name), name, version);
  }

  async metadata(name: string, version?: string): Promise<ModelMetadata> {
    const m = await this.summary(name, version);
    const { inputSize: d, hiddenSize: H, outputSize: C, readout } = m.config;
    const t = (n: string, shape: number[]): MetadataTensor => ({ name: n, datatype: NATIVE, shape });
    return {
      name: m.name ?? m.id,
      versions: [String(m.version)],
      platform: PLATFORM,
      inputs: [t('x', [ANY, ANY, d])],
      outputs: [t('y', readout === 'all' ? [ANY, ANY, C] : [ANY, C]), t('h', [ANY, ANY, H]), t('hT', [ANY, H])],
    };
  }

  async modelReady(name: string, version?: string): Promise<{ name: string; ready: boolean }> {
    const m = await this.summary(name, version);
    return { name: m.name ?? m.id, ready: true };
  }

  async infer(
    name: string,
    version: string | undefined,
    req: InferRequest,
    signal?: AbortSignal,
    owner?: string,
    /** Reserves the answer's bytes from the send budget before the work (the HTTP route's holdAnswer). */
    held?: AnswerHold,
  ): Promise<InferResponse> {
    const m = await this.model(name, version);
    const issues: Issue[] = [];
    const x = inputX(m, req, issues);
    const outputs = outputNames(req, issues);
    const sequence = sequenceOf(req, issues, owner);
    if (issues.length || !x) throw new RequestValidationError(issues);
    const extra = outputs.includes('h') ? (['h'] as const) : [];
    const out = await this.deps.sequences.forward(
      m,
      { data: x.data, shape: [...x.shape] },
      extra,
      sequence,
      signal,
      held ?? false,
    );
    return {
      model_name: m.name ?? m.id,
      model_version: String(m.version),
      ...(req.id !== undefined ? { id: req.id } : {}),
      outputs: outputs.map((n) => tensorOut(n, out, x.datatype)),
    };
  }
}

/** The one input, x (B, T, d), checked against the model; issues name the request path. */
function inputX(m: StoredModel, req: InferRequest, issues: Issue[]) {
  let x: InferRequest['inputs'][number] | undefined;
  req.inputs.forEach((input, i) => {
    if (input.name !== 'x')
      issues.push({ path: ['inputs', i, 'name'], message: `unknown input "${input.name}": this model takes x only` });
    else if (x) issues.push({ path: ['inputs', i, 'name'], message: 'x is given twice' });
    else {
      x = input;
      const [B, T, d] = input.shape;
      const d0 = m.config.inputSize;
      if (input.shape.length !== 3 || !(B >= 1 && T >= 1))
        issues.push({
          path: ['inputs', i, 'shape'],
          message: `x is [B, T, d] with B, T ≥ 1; got shape [${input.shape}]`,
        });
      else if (d !== d0)
        issues.push({
          path: ['inputs', i, 'shape'],
          message: `x is [${input.shape}]: its last dimension must be the model's inputSize d = ${d0}`,
        });
    }
  });
  if (!x && !issues.length) issues.push({ path: ['inputs'], message: 'input x is required' });
  return x;
}

function outputNames(req: InferRequest, issues: Issue[]): OutputName[] {
  if (!req.outputs) return [...DEFAULT_OUTPUTS];
  const names: OutputName[] = [];
  req.outputs.forEach((o, i) => {
    const n = o.name as OutputName;
    if (!OUTPUT_NAMES.includes(n))
      issues.push({
        path: ['outputs', i, 'name'],
        message: `unknown output "${o.name}": this model has ${OUTPUT_NAMES.join(', ')}`,
      });
    else if (names.includes(n)) issues.push({ path: ['outputs', i, 'name'], message: `${n} is requested twice` });
    else names.push(n);
  });
  return names;
}

/** Triton's sequence parameters: a sequence_id of 0 or "" means no sequence, and start/end need one. */
function sequenceOf(req: InferRequest, issues: Issue[], owner?: string): SequenceFlags | null {
  const p = req.parameters ?? {};
  const id = p.sequence_id;
  const start = p.sequence_start === true;
  const end = p.sequence_end === true;
  if (id === undefined || id === 0 || id === '') {
    if (start || end)
      issues.push({
        path: ['parameters', 'sequence_id'],
        message: `${start ? 'sequence_start' : 'sequence_end'} needs a sequence_id other than 0 or ""`,
      });
    return null;
  }
  return { id: String(id), start, end, ...(owner === undefined ? {} : { owner }) };
}

/** One output, flat and row-major; FP32 outputs are the float64 results rounded to float32. */
function tensorOut(name: OutputName, out: ForwardOut, datatype: V2Datatype): OutputTensor {
  const t = out[name]!;
  const data = datatype === 'FP32' ? Float64Array.from(t.data, Math.fround) : t.data;
  return { name, datatype, shape: [...t.shape], data };
}
