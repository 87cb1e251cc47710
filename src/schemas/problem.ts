// RFC 9457 problem details, as every error is sent.
import { z } from 'zod';

export const Problem = z
  .object({
    type: z.string().meta({ description: 'a URI reference; GET it for the list of problem types' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional(),
    issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

/** A route's responses: its success schema, and problem+json for every error. */
export function withProblems<S extends z.ZodType>(ok: S, status: 200 | 201 = 200) {
  return { [status]: ok, '4xx': Problem, '5xx': Problem } as { 200: S; '4xx': typeof Problem; '5xx': typeof Problem };
}
