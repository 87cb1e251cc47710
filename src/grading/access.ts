// Who may do what with an assignment: instructors (a token from UNROLL_INSTRUCTOR_TOKENS) everything,
// a student (their HMAC submission token) only their own problem, submissions and reports.
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';
import { isStudentToken, studentToken } from './problems.js';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="unroll grading"' };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Access {
  constructor(
    private readonly serverSecret: Buffer,
    private readonly instructorTokens: readonly string[],
  ) {}

  isInstructor(token: string | undefined): boolean {
    return token !== undefined && this.instructorTokens.some((t) => sameToken(t, token));
  }

  /** Throws 401 without a token, 403 with one that is not an instructor's. */
  instructor(token: string | undefined): void {
    present(token, 'an instructor token (UNROLL_INSTRUCTOR_TOKENS)');
    if (this.isInstructor(token)) return;
    throw new AppError(
      'forbidden',
      this.instructorTokens.length
        ? 'this route needs an instructor token, one of UNROLL_INSTRUCTOR_TOKENS'
        : 'no instructor tokens are configured: set UNROLL_INSTRUCTOR_TOKENS',
    );
  }

  /** Throws 401 without a token, 403 unless it is `student`'s own token for this assignment. */
  student(token: string | undefined, assignment: string, student: string, version = 0): void {
    present(token, `the submission token of student "${student}"`);
    if (!isStudentToken(this.serverSecret, assignment, student, token, version))
      throw new AppError(
        'forbidden',
        `this token is not the submission token of student "${student}" for assignment ${assignment}`,
      );
  }

  /** An instructor, or the student themself. Returns true for an instructor. */
  instructorOr(token: string | undefined, assignment: string, student: string | undefined, version = 0): boolean {
    present(token, 'an instructor token or the student’s own token');
    if (this.isInstructor(token)) return true;
    if (student === undefined)
      throw new AppError('forbidden', 'a student token sees only its own student’s submissions: add ?student=<id>');
    this.student(token, assignment, student, version);
    return false;
  }

  /** Whether the token is an instructor's or `student`'s own, without throwing. */
  allowed(token: string, assignment: string, student: string, version = 0): boolean {
    return this.isInstructor(token) || isStudentToken(this.serverSecret, assignment, student, token, version);
  }

  /** Throws 401 when there is no token at all. */
  require(token: string | undefined, what: string): asserts token is string {
    present(token, what);
  }

  token(assignment: string, student: string, version = 0): string {
    return studentToken(this.serverSecret, assignment, student, version);
  }
}

function present(token: string | undefined, what: string): asserts token is string {
  if (!token)
    throw new AppError('unauthorized', `send Authorization: Bearer <token> with ${what}`, undefined, CHALLENGE);
}
