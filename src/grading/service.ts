// Autograding: assignments, per-student problems, submissions graded and stored, and the instructor's export.
// Each method checks who is asking first (Access), so the routes only pass the bearer token along.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { checkModelSize, stateDictOf } from '../compute/models.js';
import type { GradingRepo, StoredAssignment } from '../db/grading.repo.js';
import { AppError, RequestValidationError } from '../errors.js';
import type { Assignment, CreateAssignmentBody, ExportQuery, SubmissionBody } from '../schemas/grading.js';
import type { LayoutQuery } from '../schemas/models.js';
import type { GradeReport } from '../schemas/reports.js';
import { Tensor } from '../schemas/tensor.js';
import { Access } from './access.js';
import { type AssignmentSpec, gradingCost, PRESETS, resolveSpec } from './assignments.js';
import { toCsv, toGradescope, toPrairieLearn } from './formats.js';
import { grade } from './grade.js';
import { deriveProblem } from './problems.js';

export interface GradingLimits {
  /** UNROLL_GRADING_MAX_COST: see gradingCost. */
  maxCost: number;
  maxParams: number;
  instructorTokens: readonly string[];
}

export type ReportFormat = 'json' | 'gradescope' | 'prairielearn';
const ASSIGNMENT_SECRET_BYTES = 32;

const publicView = (spec: AssignmentSpec) => ({
  title: spec.title,
  preset: spec.preset,
  config: spec.config,
  batch: spec.batch,
  steps: spec.steps,
  zeroBias: spec.zeroBias,
  questions: spec.questions,
  maxScore: spec.questions.reduce((s, q) => s + q.points, 0),
});
const view = (a: StoredAssignment): Assignment => ({ id: a.id, ...publicView(a.spec), createdAt: a.createdAt });

export function formatReport(r: GradeReport, format: ReportFormat) {
  return format === 'gradescope' ? toGradescope(r) : format === 'prairielearn' ? toPrairieLearn(r) : r;
}

export class GradingService {
  private readonly access: Access;
  private readonly seconds: Histogram;
  private readonly answers: Counter<'status'>;

  constructor(
    private readonly repo: GradingRepo,
    serverSecret: Buffer,
    private readonly limits: GradingLimits,
    registry: Registry,
  ) {
    this.access = new Access(serverSecret, limits.instructorTokens);
    this.seconds = new Histogram({
      name: 'unroll_grading_seconds',
      help: 'Time to grade one submission (reference values, comparisons and mistake search)',
      buckets: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1],
      registers: [registry],
    });
    this.answers = new Counter({
      name: 'unroll_graded_answers_total',
      help: 'Answers graded, by status',
      labelNames: ['status'],
      registers: [registry],
    });
  }

  presets(token: string | undefined) {
    this.access.instructor(token);
    return { presets: Object.fromEntries(Object.entries(PRESETS).map(([name, spec]) => [name, publicView(spec)])) };
  }

  async create(token: string | undefined, body: CreateAssignmentBody): Promise<Assignment> {
    this.access.instructor(token);
    const spec = resolveSpec(body);
    checkModelSize(spec.config, this.limits.maxParams);
    const cost = gradingCost(spec);
    if (cost > this.limits.maxCost)
      throw new AppError(
        'too-expensive',
        `grading this assignment costs ${cost.toExponential(3)} multiply-adds per submission (B·T·H·(d+H) with B=${spec.batch}, T=${spec.steps}, plus H per Jacobian element), above UNROLL_GRADING_MAX_COST = ${this.limits.maxCost}`,
      );
    if (spec.questions.reduce((s, q) => s + q.points, 0) <= 0)
      throw new RequestValidationError([{ path: ['questions'], message: 'the questions must be worth some points' }]);
    const a: StoredAssignment = {
      id: randomUUID(),
      spec,
      secret: randomBytes(ASSIGNMENT_SECRET_BYTES),
      createdAt: new Date().toISOString(),
    };
    await this.repo.createAssignment(a);
    return view(a);
  }

  async list(token: string | undefined) {
    this.access.instructor(token);
    return { assignments: (await this.repo.listAssignments()).map(view) };
  }

  async get(token: string | undefined, id: string): Promise<Assignment> {
    this.access.instructor(token);
    return view(await this.find(id));
  }

  async delete(token: string | undefined, id: string): Promise<void> {
    this.access.instructor(token);
    if (!(await this.repo.deleteAssignment(id))) throw notFound(id);
  }

  /** A student's numbers and token: for an instructor, or for that student (with their token). */
  async problem(token: string | undefined, id: string, student: string, layout?: LayoutQuery) {
    this.access.instructorOr(token, id, student);
    const a = await this.find(id);
    const p = deriveProblem(a.spec, a.secret, student);
    const { config } = a.spec;
    return {
      assignment: a.id,
      student,
      token: this.access.token(a.id, student),
      problem: {
        model: { config, weights: stateDictOf(config, p.model.params, layout) },
        x: new Tensor(p.x, [p.B, p.T, config.inputSize]),
        targets: new Tensor(p.targets, config.readout === 'all' ? [p.B, p.T] : [p.B]),
      },
      questions: a.spec.questions,
    };
  }

  async submit(token: string | undefined, id: string, body: SubmissionBody, format: ReportFormat) {
    this.access.require(token, `the submission token of student "${body.student}"`);
    const a = await this.find(id);
    this.access.student(token, id, body.student);
    const known = new Set(a.spec.questions.map((q) => q.id));
    const unknown = Object.keys(body.answers).filter((k) => !known.has(k));
    if (unknown.length)
      throw new RequestValidationError(
        unknown.map((k) => ({ path: ['answers', k], message: `no question "${k}" in this assignment` })),
      );
    const t0 = performance.now();
    const g = grade(deriveProblem(a.spec, a.secret, body.student), a.spec.questions, body.answers);
    this.seconds.observe((performance.now() - t0) / 1000);
    for (const q of g.questions) this.answers.inc({ status: q.status });
    const report: GradeReport = {
      id: randomUUID(),
      assignment: a.id,
      student: body.student,
      submittedAt: new Date().toISOString(),
      ...g,
    };
    await this.repo.addSubmission(report, body.answers);
    return formatReport(report, format);
  }

  /** One stored report: for an instructor or its own student; anyone else is told it does not exist. */
  async submission(token: string | undefined, id: string, submission: string, format: ReportFormat) {
    this.access.require(token, 'an instructor token or the student’s own token');
    const r = await this.repo.getSubmission(id, submission);
    if (!r || !this.access.allowed(token, id, r.student))
      throw new AppError('not-found', `no submission ${submission} in assignment ${id}`);
    return formatReport(r, format);
  }

  /** Every report (or one per student), as JSON or a CSV gradebook. */
  async export(token: string | undefined, id: string, q: ExportQuery) {
    this.access.instructorOr(token, id, q.student);
    const a = await this.find(id);
    const rows = await this.repo.listSubmissions(id, q.keep, q.student ?? null);
    const ids = a.spec.questions.map((x) => x.id);
    if (q.format === 'csv') return { kind: 'csv' as const, csv: toCsv(ids, rows), filename: `${a.id}.csv` };
    return {
      kind: 'json' as const,
      body: {
        assignment: a.id,
        questions: ids,
        submissions: rows.map((r) => ({ ...r, scores: Object.fromEntries(r.questions.map((x) => [x.id, x.points])) })),
      },
    };
  }

  private async find(id: string): Promise<StoredAssignment> {
    const a = await this.repo.getAssignment(id);
    if (!a) throw notFound(id);
    return a;
  }
}

const notFound = (id: string) => new AppError('not-found', `no assignment with id "${id}"`);
