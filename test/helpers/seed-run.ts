// A finished run written straight into a database the way the server records one (RunsRepo.insert, then
// RunLog.steps in worker-sized batches, rollups and all), with made-up but deterministic numbers: how a test
// gets a 10^6-step event log without training for an hour. stepFrame(i) is what step i recorded.

import { HistoryRepo } from '../../src/db/history.repo.js';
import type { Db } from '../../src/db/open.js';
import { RunsRepo } from '../../src/db/runs.repo.js';
import type { HiddenFrame, StepFrame } from '../../src/schemas/runs.js';
import { HistoryService } from '../../src/training/history/service.js';
import { RunHub } from '../../src/training/hub.js';
import { RunLog } from '../../src/training/log.js';
import type { EventOut } from '../../src/training/loop.js';
import { resolveRun } from '../../src/training/spec.js';

export interface SeedOptions {
  steps: number;
  /** T, the task length (d = 1: sign-of-sum). */
  T?: number;
  H?: number;
  hiddenEvery?: number;
  /** Steps recorded per batch (a worker's message). */
  batch?: number;
  /** Where the loss spikes (one step, ten times its neighbours). */
  spikeAt?: number;
  name?: string;
  /** From this batch on, a fresh RunLog records (as after a restart: the rollups' open buckets are rebuilt). */
  restartAt?: number;
}

const LIMITS = {
  maxSteps: 10_000_000,
  maxCost: 1e12,
  maxParams: 1e9,
  maxOutputElements: 1e9,
  hiddenEvery: 10,
  maxRunCost: Number.POSITIVE_INFINITY,
  maxLogBytes: Number.POSITIVE_INFINITY,
};

/** A cheap deterministic number in (0, 1) for (i, k). */
const noise = (i: number, k: number) => {
  const x = Math.sin(i * 12.9898 + k * 78.233) * 43758.5453;
  return x - Math.floor(x);
};

export function stepFrame(i: number, T: number, spikeAt = -1): StepFrame {
  const decay = 1 / (1 + i / 1000);
  return {
    event: 'step',
    step: i,
    loss: (0.7 * decay + 0.05 * noise(i, 1)) * (i === spikeAt ? 10 : 1),
    accuracy: Math.min(1, 0.5 + 0.5 * (1 - decay) + 0.01 * noise(i, 2)),
    gradNorm: {
      'U.weight': 0.1 + noise(i, 3),
      'W.weight': 0.2 + noise(i, 4),
      'W.bias': 0.05 + noise(i, 5),
      'V.weight': 0.3 + noise(i, 6),
      'V.bias': 0.01 + noise(i, 7),
    },
    dhNorm: Array.from({ length: T }, (_, t) => 0.9 ** (T - 1 - t) * (1 + 0.1 * noise(i, 8 + t))),
  };
}

export function hiddenFrame(i: number, T: number, H: number): HiddenFrame {
  return {
    event: 'hidden',
    step: i,
    h: Array.from({ length: T }, (_, t) => Array.from({ length: H }, (_, u) => Math.tanh(2 * noise(i, t * H + u) - 1))),
  };
}

/** Inserts a succeeded run of `steps` recorded steps; returns its id. */
export async function seedRun(db: Db, o: SeedOptions): Promise<string> {
  const T = o.T ?? 20;
  const H = o.H ?? 16;
  const hiddenEvery = o.hiddenEvery ?? 1000;
  const batch = o.batch ?? 500;
  const repo = new RunsRepo(db);
  const newLog = () => new RunLog(repo, new RunHub(), new HistoryService(new HistoryRepo(db)).writer);
  let log = newLog();
  const r = await resolveRun(
    {
      task: { name: 'sign-of-sum', length: T },
      model: {
        config: { inputSize: 1, hiddenSize: H, outputSize: 2, activation: 'tanh', readout: 'last' },
        init: { seed: 0 },
      },
      steps: o.steps,
      hiddenEvery,
      name: o.name,
    },
    () => {
      throw new Error('no stored models here');
    },
    LIMITS,
  );
  const id = crypto.randomUUID();
  await repo.insert({ id, name: o.name ?? null, task: 'sign-of-sum', ...r });
  await repo.claim(id);
  for (let s = 0; s < o.steps; s += batch) {
    if (o.restartAt !== undefined && s >= o.restartAt && s - batch < o.restartAt) log = newLog();
    const events: EventOut[] = [];
    for (let i = s; i < Math.min(o.steps, s + batch); i++) {
      if (i % hiddenEvery === 0) events.push({ step: i, kind: 'hidden', text: JSON.stringify(hiddenFrame(i, T, H)) });
      const f = stepFrame(i, T, o.spikeAt);
      events.push({ step: i, kind: 'step', text: JSON.stringify(f), loss: f.loss, accuracy: f.accuracy });
    }
    await log.steps(id, events);
  }
  await log.steps(id, [{ step: o.steps, kind: 'hidden', text: JSON.stringify(hiddenFrame(o.steps, T, H)) }]);
  await log.finish(id, { status: 'succeeded', step: o.steps });
  return id;
}
