// Running a course on an assignment: an instructor's changes (title, rules, questions), regrades of every
// stored submission from its stored answers, the regrade history, rosters and token rotation.
import { randomUUID } from 'node:crypto';
import type { StoredAssignment } from '../db/grading.repo.js';
import type { GradingCourseRepo } from '../db/grading-course.repo.js';
import { AppError } from '../errors.js';
import type { UpdateAssignmentBody } from '../schemas/grading.js';
import type { GradeReport } from '../schemas/reports.js';
import type { RosterBody } from '../schemas/roster.js';
import { type AssignmentSpec, resolveQuestions } from './assignments.js';
import { grade } from './grade.js';
import { deriveProblem } from './problems.js';
import { rosterFromCsv, rosterFromJson, tokensCsv } from './roster.js';
import { mergeRules } from './rules.js';
import { type GradingService, rulesOf, view } from './service.js';

/** Submissions regraded between two turns of the event loop, so a large class never blocks it for long. */
const REGRADE_SLICE = 16;
const DEFAULT_REASON = 'questions changed';

const round = (v: number) => Math.round(v * 1e9) / 1e9;

/** A report regraded from its answers under new questions: same id, student and time, same late factor. */
export function regradeReport(
  a: StoredAssignment,
  spec: AssignmentSpec,
  old: GradeReport,
  answers: Record<string, unknown>,
  reason: string,
  at: string,
): GradeReport {
  const g = grade(deriveProblem(spec, a.secret, old.student), spec.questions, answers);
  const factor = old.rules?.factor ?? 1;
  const score = round(g.score * factor);
  return {
    ...old,
    ...g,
    score,
    ...(old.rules ? { rules: { ...old.rules, rawScore: g.score } } : {}),
    regrades: [...(old.regrades ?? []), { at, reason, oldScore: old.score, newScore: score }],
  };
}

export class CourseService {
  constructor(
    private readonly grading: GradingService,
    private readonly repo: GradingCourseRepo,
  ) {}

  private get access() {
    return this.grading.access;
  }

  /** Changes what an instructor may change; new questions regrade every stored submission. */
  async update(token: string | undefined, id: string, body: UpdateAssignmentBody) {
    this.access.instructor(token);
    const a = await this.grading.find(id);
    const now = this.grading.now();
    const spec: AssignmentSpec = {
      ...a.spec,
      title: body.title ?? a.spec.title,
      questions: body.questions ? resolveQuestions(body.questions) : a.spec.questions,
      rules: mergeRules(rulesOf(a.spec), body.rules, now),
    };
    this.grading.checkSpec(spec);
    await this.repo.updateSpec(id, spec);
    const changed = JSON.stringify(spec.questions) !== JSON.stringify(a.spec.questions);
    const regrade = changed ? await this.regradeAll({ ...a, spec }, body.reason ?? DEFAULT_REASON) : null;
    return { assignment: view({ ...a, spec }), regrade };
  }

  /** Regrades every submission under the current questions (after a catalogue or tolerance fix). */
  async regrade(token: string | undefined, id: string, reason: string) {
    this.access.instructor(token);
    return this.regradeAll(await this.grading.find(id), reason);
  }

  private async regradeAll(a: StoredAssignment, reason: string) {
    const at = this.grading.now().toISOString();
    const stored = await this.repo.answers(a.id);
    let changed = 0;
    for (const [i, s] of stored.entries()) {
      if (i > 0 && i % REGRADE_SLICE === 0) await new Promise((r) => setImmediate(r));
      const next = regradeReport(a, a.spec, s.report, s.answers, reason, at);
      if (next.score !== s.report.score) changed++;
      await this.repo.regrade(randomUUID(), s.report, next, reason, at);
    }
    return { reason, at, submissions: stored.length, changed };
  }

  async history(token: string | undefined, id: string) {
    this.access.instructor(token);
    await this.grading.find(id);
    return { assignment: id, regrades: await this.repo.regrades(id) };
  }

  /** Adds the posted students to the roster; answers every enrolled student with their current token. */
  async enroll(token: string | undefined, id: string, body: RosterBody | string) {
    this.access.instructor(token);
    await this.grading.find(id);
    const entries = typeof body === 'string' ? rosterFromCsv(body) : rosterFromJson(body);
    await this.repo.enroll(id, entries);
    return this.roster(token, id);
  }

  async roster(token: string | undefined, id: string) {
    this.access.instructor(token);
    await this.grading.find(id);
    const rows = await this.repo.roster(id);
    const students = rows.map((r) => ({
      student: r.student,
      name: r.name,
      email: r.email,
      token: this.access.token(id, r.student, r.tokenVersion),
    }));
    return { json: { assignment: id, students }, csv: tokensCsv(students) };
  }

  /** A new token for the student; the old one stops working at once, their submissions stay theirs. */
  async rotate(token: string | undefined, id: string, student: string) {
    this.access.instructor(token);
    await this.grading.find(id);
    const s = await this.repo.student(id, student);
    if (!s.enrolled && (await this.repo.hasRoster(id)))
      throw new AppError('not-found', `student "${student}" is not on the roster of assignment ${id}`);
    const version = await this.repo.rotateToken(id, student);
    return { assignment: id, student, token: this.access.token(id, student, version) };
  }
}
