// Autograding: assignments, per-student problems, submissions graded and stored, and the instructor's export.
// Each method checks who is asking first (Access), so the routes only pass the bearer token along. The
// course rules (rules.ts) decide whether a submission is taken, its late factor, and what a student sees.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { checkModelSize, stateDictOf } from '../compute/models.js';
import type { GradingRepo, StoredAssignment } from '../db/grading.repo.js';
import type { GradingCourseRepo } from '../db/grading-course.repo.js';
import { AppError, RequestValidationError } from '../errors.js';
import type { Assignment, CreateAssignmentBody, ExportQuery, SubmissionBody } from '../schemas/grading.js';
import type { LayoutQuery } from '../schemas/models.js';
import type { GradeReport, WithheldReport } from '../schemas/reports.js';
import type { CourseRules } from '../schemas/rules.js';
import { Tensor } from '../schemas/tensor.js';
import { Access } from './access.js';
import { type AssignmentSpec, gradingCost, PRESETS, resolveSpec } from './assignments.js';
import { toCsv, toGradescope, toPrairieLearn } from './formats.js';
import { grade } from './grade.js';
import { deriveProblem } from './problems.js';
import { admit, counted, countsNote, DEFAULT_RULES, mergeRules, released, withheldMessage } from './rules.js';

export interface GradingLimits {
  /** UNROLL_GRADING_MAX_COST: see gradingCost. */
  maxCost: number;
  maxParams: number;
  instructorTokens: readonly string[];
}

export type ReportFormat = 'json' | 'gradescope' | 'prairielearn';
const ASSIGNMENT_SECRET_BYTES = 32;

export const rulesOf = (spec: AssignmentSpec): CourseRules => spec.rules ?? DEFAULT_RULES;

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
export const view = (a: StoredAssignment): Assignment => ({
  id: a.id,
  ...publicView(a.spec),
  rules: rulesOf(a.spec),
  createdAt: a.createdAt,
});

export function formatReport(r: GradeReport, format: ReportFormat) {
  return format === 'gradescope' ? toGradescope(r) : format === 'prairielearn' ? toPrairieLearn(r) : r;
}

export class GradingService {
  readonly access: Access;
  private readonly seconds: Histogram;
  private readonly answers: Counter<'status'>;

  constructor(
    private readonly repo: GradingRepo,
    private readonly course: GradingCourseRepo,
    serverSecret: Buffer,
    private readonly limits: GradingLimits,
    registry: Registry,
    /** The clock the rules read (due dates, release): injectable for tests. */
    readonly now: () => Date = () => new Date(),
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
    spec.rules = mergeRules(DEFAULT_RULES, body.rules, this.now());
    this.checkSpec(spec);
    const a: StoredAssignment = {
      id: randomUUID(),
      spec,
      secret: randomBytes(ASSIGNMENT_SECRET_BYTES),
      createdAt: this.now().toISOString(),
    };
    await this.repo.createAssignment(a);
    return view(a);
  }

  /** The limits every assignment spec meets, at creation and after an instructor's change. */
  checkSpec(spec: AssignmentSpec): void {
    checkModelSize(spec.config, this.limits.maxParams);
    const cost = gradingCost(spec);
    if (cost > this.limits.maxCost)
      throw new AppError(
        'too-expensive',
        `grading this assignment costs ${cost.toExponential(3)} multiply-adds per submission (B·T·H·(d+H) with B=${spec.batch}, T=${spec.steps}, plus H per Jacobian element), above UNROLL_GRADING_MAX_COST = ${this.limits.maxCost}`,
      );
    if (spec.questions.reduce((s, q) => s + q.points, 0) <= 0)
      throw new RequestValidationError([{ path: ['questions'], message: 'the questions must be worth some points' }]);
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

  /**
   * Checks the token (an instructor, or the student's current token) and, when the assignment has a
   * roster, that the student is on it. Returns whether the caller is an instructor and the token version.
   */
  async gate(token: string | undefined, a: StoredAssignment, student: string) {
    this.access.require(token, `an instructor token or the submission token of student "${student}"`);
    const s = await this.course.student(a.id, student);
    const instructor = this.access.instructorOr(token, a.id, student, s.tokenVersion);
    if (!s.enrolled && (await this.course.hasRoster(a.id)))
      throw new AppError('forbidden', `student "${student}" is not on the roster of assignment ${a.id}`);
    return { instructor, version: s.tokenVersion };
  }

  /** A student's numbers and token: for an instructor, or for that student (with their token). */
  async problem(token: string | undefined, id: string, student: string, layout?: LayoutQuery) {
    this.access.require(token, 'an instructor token or the student’s own token');
    const a = await this.find(id);
    const { version } = await this.gate(token, a, student);
    const p = deriveProblem(a.spec, a.secret, student);
    const { config } = a.spec;
    return {
      assignment: a.id,
      student,
      token: this.access.token(a.id, student, version),
      problem: {
        model: { config, weights: stateDictOf(config, p.model.params, layout) },
        x: new Tensor(p.x, [p.B, p.T, config.inputSize]),
        targets: new Tensor(p.targets, config.readout === 'all' ? [p.B, p.T] : [p.B]),
      },
      questions: a.spec.questions,
      rules: rulesOf(a.spec),
    };
  }

  /**
   * Grades and stores a submission, from the student (their token) or an instructor on their behalf (the
   * platform kits). The rules refuse it (attempt limit, deadline) or put their facts in the report.
   */
  async submit(token: string | undefined, id: string, body: SubmissionBody, format: ReportFormat) {
    this.access.require(token, `the submission token of student "${body.student}"`);
    const a = await this.find(id);
    const { instructor } = await this.gate(token, a, body.student);
    const known = new Set(a.spec.questions.map((q) => q.id));
    const unknown = Object.keys(body.answers).filter((k) => !known.has(k));
    if (unknown.length)
      throw new RequestValidationError(
        unknown.map((k) => ({ path: ['answers', k], message: `no question "${k}" in this assignment` })),
      );
    const rules = rulesOf(a.spec);
    const earlier = await this.course.reportsOf(a.id, body.student);
    const now = this.now();
    const applied = admit(rules, earlier.length + 1, now);
    const t0 = performance.now();
    const g = grade(deriveProblem(a.spec, a.secret, body.student), a.spec.questions, body.answers);
    this.seconds.observe((performance.now() - t0) / 1000);
    for (const q of g.questions) this.answers.inc({ status: q.status });
    const report: GradeReport = {
      id: randomUUID(),
      assignment: a.id,
      student: body.student,
      submittedAt: now.toISOString(),
      ...g,
      score: round(g.score * applied.factor),
      rules: { ...applied, rawScore: g.score },
    };
    report.rules!.notes.push(countsNote(rules.counts, report, earlier));
    await this.repo.addSubmission(report, body.answers);
    return this.present(report, rules, instructor, format);
  }

  /** A report as its reader may see it: whole for an instructor or once released, else withheld. */
  present(r: GradeReport, rules: CourseRules, instructor: boolean, format: ReportFormat) {
    if (instructor || released(rules, this.now())) return formatReport(r, format);
    const w: WithheldReport = {
      id: r.id,
      assignment: r.assignment,
      student: r.student,
      submittedAt: r.submittedAt,
      withheld: true,
      message: withheldMessage(rules, r.rules),
      ...(r.rules ? { rules: r.rules } : {}),
    };
    return w;
  }

  /** One stored report: for an instructor or its own student; anyone else is told it does not exist. */
  async submission(token: string | undefined, id: string, submission: string, format: ReportFormat) {
    this.access.require(token, 'an instructor token or the student’s own token');
    const r = await this.repo.getSubmission(id, submission);
    const a = await this.repo.getAssignment(id);
    const version = r ? (await this.course.student(id, r.student)).tokenVersion : 0;
    if (!r || !a || !this.access.allowed(token, id, r.student, version))
      throw new AppError('not-found', `no submission ${submission} in assignment ${id}`);
    return this.present(r, rulesOf(a.spec), this.access.isInstructor(token), format);
  }

  /** Every report (or one per student: latest, best, or the one the rules count), as JSON or a CSV gradebook. */
  async export(token: string | undefined, id: string, q: ExportQuery) {
    this.access.require(token, 'an instructor token or the student’s own token');
    const a = await this.find(id);
    const rules = rulesOf(a.spec);
    if (q.student !== undefined) {
      const { instructor } = await this.gate(token, a, q.student);
      if (!instructor && !released(rules, this.now()))
        throw new AppError(
          'forbidden',
          withheldMessage(rules, undefined).replace(/^Your submission was received\. /, ''),
        );
    } else this.access.instructor(token);
    const rows =
      q.keep === 'counted'
        ? counted(rules.counts, await this.repo.listSubmissions(id, 'all', q.student ?? null))
        : await this.repo.listSubmissions(id, q.keep, q.student ?? null);
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

  async find(id: string): Promise<StoredAssignment> {
    const a = await this.repo.getAssignment(id);
    if (!a) throw notFound(id);
    return a;
  }
}

const round = (v: number) => Math.round(v * 1e9) / 1e9;
const notFound = (id: string) => new AppError('not-found', `no assignment with id "${id}"`);
