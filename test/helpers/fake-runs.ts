// A stand-in for the runs API of API.md ("Training runs") for the dashboard's browser tests that need what
// a real run cannot give quickly: 100k recorded steps, or frames on demand. Synthetic but well-formed frames:
// a loss that decays, dL/dh_t that vanishes toward t = 0, a tanh hidden state. Not a trainer. Every frame
// and every answer is parsed with the real zod schema of src/schemas/runs.ts first, so the fake cannot
// drift from the API the browser tests stand in for.
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { WEIGHT_KEYS } from '../../src/core/model.js';
import { ModelList } from '../../src/schemas/models.js';
import { TASK_NAMES } from '../../src/schemas/names.js';
import { Run, RunCreated, RunEventFrame, RunList, TaskList } from '../../src/schemas/runs.js';

export interface FakeRunOptions {
  T?: number;
  H?: number;
  steps?: number;
  /** Steps recorded before the run is first listed (their frames replay at once). */
  recorded?: number;
  hiddenEvery?: number;
}

interface FakeRun {
  id: string;
  status: 'running' | 'succeeded' | 'cancelled';
  step: number;
  steps: number;
  T: number;
  H: number;
  hiddenEvery: number;
  /** JSON text of every frame, with its step. */
  log: { step: number; text: string }[];
  listeners: Set<(text: string | null) => void>;
}

const GRAD_SCALE = [0.5, 1.2, 0.3, 0.8, 0.2];
/** The loss of a two-class task at chance, in nats. */
const CHANCE = Math.LN2;
/** Per-timestep decay of dL/dh_t going back in time. */
const VANISH = 0.8;

/** A frame as the socket sends it, once the real frame schema accepts it. */
const frameText = (f: RunEventFrame): string => JSON.stringify(RunEventFrame.parse(f));

function frames(run: FakeRun, s: number): { step: number; text: string }[] {
  const progress = s / Math.max(1, run.steps);
  const wiggle = Math.sin(s * 0.37) * 0.02;
  const step: RunEventFrame = {
    event: 'step',
    step: s,
    loss: CHANCE * Math.exp(-4 * progress) + 0.02 + wiggle,
    accuracy: Math.min(1, 0.5 + 0.5 * (1 - Math.exp(-5 * progress)) + wiggle),
    gradNorm: Object.fromEntries(WEIGHT_KEYS.map((k, i) => [k, GRAD_SCALE[i] * (1 + Math.sin(s * 0.05 + i) ** 2)])),
    dhNorm: Array.from({ length: run.T }, (_, t) => 0.3 * VANISH ** (run.T - 1 - t) * (1 + progress)),
  };
  const out = [{ step: s, text: frameText(step) }];
  if (s % run.hiddenEvery === 0) {
    const h = Array.from({ length: run.T }, (_, t) =>
      Array.from({ length: run.H }, (_, j) => Math.tanh(Math.sin(0.7 * j + 0.4 * t + 3 * progress) * 2)),
    );
    out.push({ step: s, text: frameText({ event: 'hidden', step: s, h }) });
  }
  return out;
}

export class FakeRuns {
  readonly runs = new Map<string, FakeRun>();
  /** When set, /v1 answers 401 without this bearer token (header, or ?access_token= on a socket). */
  token: string | null = null;
  private nextId = 1;

  constructor(private readonly app: FastifyInstance) {}

  create(o: FakeRunOptions = {}): FakeRun {
    const run: FakeRun = {
      id: `fake-${this.nextId++}`,
      status: 'running',
      step: 0,
      steps: o.steps ?? 1000,
      T: o.T ?? 12,
      H: o.H ?? 16,
      hiddenEvery: o.hiddenEvery ?? 10,
      log: [],
      listeners: new Set(),
    };
    run.log.push({ step: 0, text: frameText({ event: 'status', status: 'running', step: 0 }) });
    this.runs.set(run.id, run);
    this.advance(run, o.recorded ?? 0);
    return run;
  }

  /** Records n more steps and sends their frames to every follower; the run succeeds after its last step. */
  advance(run: FakeRun, n: number): void {
    const out: { step: number; text: string }[] = [];
    for (let k = 0; k < n && run.step < run.steps && run.status === 'running'; k++)
      out.push(...frames(run, run.step++));
    if (run.step >= run.steps && run.status === 'running') {
      run.status = 'succeeded';
      out.push({
        step: run.step - 1,
        text: frameText({ event: 'status', status: 'succeeded', step: run.step - 1 }),
      });
    }
    run.log.push(...out);
    for (const l of run.listeners) for (const f of out) l(f.text);
    if (run.status !== 'running') for (const l of run.listeners) l(null);
  }

  /** Drops every event socket the way a network failure does: no close frame. */
  dropSockets(): number {
    let n = 0;
    for (const c of this.app.websocketServer.clients) {
      c.terminate();
      n++;
    }
    return n;
  }

  view(r: FakeRun): Run {
    return Run.parse({
      id: r.id,
      name: null,
      status: r.status,
      step: r.step,
      steps: r.steps,
      metrics: { loss: null, accuracy: null },
      evaluation: null,
      modelId: null,
      reason: null,
      task: 'parity',
      config: { inputSize: 1, hiddenSize: r.H, outputSize: 2, activation: 'tanh', readout: 'last' },
      length: r.T,
      createdAt: new Date(0).toISOString(),
      startedAt: null,
      finishedAt: null,
    });
  }
}

const TASKS = TaskList.parse({
  tasks: TASK_NAMES.map((name) => ({
    name,
    description: `the fake ${name}`,
    defaults: {
      length: 12,
      symbols: 4,
      hiddenSize: 16,
      steps: 1000,
      batchSize: 32,
      optimizer: { name: 'adam', lr: 0.01 },
      accuracy: 0.9,
    },
  })),
});

/** Registers the fake runs routes (and @fastify/websocket) on a bare app that also serves the dashboard. */
export async function registerFakeRuns(app: FastifyInstance, defaults: FakeRunOptions = {}): Promise<FakeRuns> {
  await app.register(websocket);
  const fake = new FakeRuns(app);
  app.addHook('onRequest', async (req, reply) => {
    if (!fake.token || !req.url.startsWith('/v1/')) return;
    const q = new URL(req.url, 'http://x').searchParams.get('access_token');
    if (req.headers.authorization !== `Bearer ${fake.token}` && q !== fake.token)
      return reply.code(401).send({ type: '/problems/unauthorized', status: 401, detail: 'a token is required' });
  });
  const find = (id: string) => {
    const r = fake.runs.get(id);
    if (!r) throw Object.assign(new Error(`no run ${id}`), { statusCode: 404 });
    return r;
  };
  app.get('/v1/tasks', async () => TASKS);
  app.get('/v1/models', async () => ModelList.parse({ models: [], total: 0 }));
  app.get('/v1/runs', async () => {
    const runs = [...fake.runs.values()].reverse().map((r) => fake.view(r));
    return RunList.parse({ runs, total: runs.length });
  });
  app.post('/v1/runs', async (_req, reply) => {
    const run = fake.create(defaults);
    reply.code(202);
    return RunCreated.parse({ id: run.id, status: 'queued' });
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (req) => fake.view(find(req.params.id)));
  // a history with nothing in it: the page replays the whole log from its socket (the way it opens a run
  // without the history route, and how `bench:dashboard` measures that)
  app.get<{ Params: { id: string } }>('/v1/runs/:id/history', async (req) => {
    find(req.params.id);
    return { id: req.params.id, from: 0, to: -1, recorded: null, settings: {} };
  });
  app.post<{ Params: { id: string } }>('/v1/runs/:id/cancel', async (req) => {
    const run = find(req.params.id);
    run.status = 'cancelled';
    fake.advance(run, 0);
    return fake.view(run);
  });
  app.get<{ Params: { id: string }; Querystring: { since?: string } }>(
    '/v1/runs/:id/events',
    { websocket: true },
    (socket, req) => {
      const run = find(req.params.id);
      const since = Number(req.query.since ?? -1);
      for (const f of run.log) if (f.step > since) socket.send(f.text);
      if (run.status !== 'running') return socket.close(1000, 'the run has ended');
      const listener = (text: string | null) =>
        text === null ? socket.close(1000, 'the run has ended') : socket.send(text);
      run.listeners.add(listener);
      socket.on('close', () => run.listeners.delete(listener));
    },
  );
  return fake;
}
