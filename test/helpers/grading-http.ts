// Requests the grading HTTP tests make again and again, against one app, as an instructor or a student.
import type { FastifyInstance } from 'fastify';

export const TEACHER = 'teacher-token';
export const teacher = { authorization: `Bearer ${TEACHER}` };

export interface StudentProblem {
  student: string;
  token: string;
  problem: { model: { config: object; weights: Record<string, unknown> }; x: number[][][]; targets: number[] };
}

export function gradingClient(app: FastifyInstance) {
  return {
    create: (payload: object, headers: Record<string, string> = teacher) =>
      app.inject({ method: 'POST', url: '/v1/assignments', headers, payload }),
    problemOf: async (id: string, student: string): Promise<StudentProblem> =>
      (await app.inject({ method: 'GET', url: `/v1/assignments/${id}/problems/${student}`, headers: teacher })).json(),
    submit: (id: string, token: string, payload: object, query = '') =>
      app.inject({
        method: 'POST',
        url: `/v1/assignments/${id}/submissions${query}`,
        headers: { authorization: `Bearer ${token}` },
        payload,
      }),
    get: (url: string, token = TEACHER) =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } }),
    /** A sheet-ex2 student's true answers, from /v1/bptt on their own problem. */
    answersFor: async (p: StudentProblem) => {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/bptt',
        payload: { model: p.problem.model, x: p.problem.x, targets: p.problem.targets },
      });
      const b = r.json();
      return { 'out-shape': [5, 3], y: b.y, hT: b.hT, loss: b.loss };
    },
  };
}
