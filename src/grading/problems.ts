// Per-student problems and submission tokens: both derived with HMAC-SHA256, so the same student always
// gets the same numbers and token, different students different ones, and nothing needs to be stored.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { initParams, Rng } from '../core/init.js';
import type { ProblemSpec } from '../schemas/grading.js';
import type { Problem } from './quantities.js';

export type { ProblemSpec } from '../schemas/grading.js';

/** Bytes of the HMAC read into each seed: 48 bits, a safe integer for Rng. */
const SEED_BYTES = 6;

/**
 * The two seeds of a student's problem: the first 48 bits of HMAC-SHA256(assignment secret, student id)
 * seed the weights (initParams, nn.Linear's bounds), the next 48 bits the data: x ~ N(0, 1) like
 * torch.randn, drawn row-major, then each target uniform over the C classes.
 */
export function problemSeeds(secret: Buffer, student: string): { weights: number; data: number } {
  const mac = createHmac('sha256', secret).update(student, 'utf8').digest();
  return { weights: mac.readUIntBE(0, SEED_BYTES), data: mac.readUIntBE(SEED_BYTES, SEED_BYTES) };
}

export function deriveProblem(spec: ProblemSpec, secret: Buffer, student: string): Problem {
  const { config, batch: B, steps: T } = spec;
  const seeds = problemSeeds(secret, student);
  const params = initParams(config, seeds.weights);
  if (spec.zeroBias) {
    params.bW.fill(0);
    params.bV.fill(0);
  }
  const rng = new Rng(seeds.data);
  const x = new Float64Array(B * T * config.inputSize);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const targets = new Float64Array(config.readout === 'all' ? B * T : B);
  for (let i = 0; i < targets.length; i++) targets[i] = rng.int(config.outputSize);
  return { model: { config, params }, x, B, T, targets };
}

/**
 * A student's submission token for one assignment: HMAC-SHA256 keyed by the server secret, base64url.
 * Rotating a token bumps its version (stored with the roster); version 0 is the token before any rotation.
 */
export function studentToken(serverSecret: Buffer, assignmentId: string, student: string, version = 0): string {
  return createHmac('sha256', serverSecret)
    .update(`unroll student token\0${assignmentId}\0${student}${version ? `\0${version}` : ''}`, 'utf8')
    .digest('base64url');
}

export function isStudentToken(
  serverSecret: Buffer,
  assignmentId: string,
  student: string,
  token: string,
  version = 0,
): boolean {
  const want = Buffer.from(studentToken(serverSecret, assignmentId, student, version));
  const got = Buffer.from(token);
  return want.length === got.length && timingSafeEqual(want, got);
}
