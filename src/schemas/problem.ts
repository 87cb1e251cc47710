// RFC 9457 problem details, as every error is sent.
import { z } from 'zod';

/** One thing wrong with a request, at its path. */
export const Issue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() });
export type Issue = z.infer<typeof Issue>;

export const Problem = z
  .object({
    type: z.string().meta({ description: 'a URI reference; GET it for the list of problem types' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional(),
    issues: z.array(Issue).optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof Problem>;

/** A route's responses: its success schema, and problem+json for every error. */
export function withProblems<S extends z.ZodType>(ok: S) {
  const problem = {
    description: 'problem details (RFC 9457)',
    content: { 'application/problem+json': { schema: Problem } },
  };
  return { 200: ok, '4xx': problem, '5xx': problem };
}

/** A DELETE's responses: 204 with no body, and problem+json for every error. */
export const DELETED = { 204: z.null().meta({ description: 'deleted' }), '4xx': Problem, '5xx': Problem };
