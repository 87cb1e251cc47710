// Operations on the wire: liveness, readiness (what the process waits on) and the problem-type catalogue.
import { z } from 'zod';

export const Health = z.object({ status: z.literal('ok') });

export const Ready = z.object({
  status: z.literal('ok'),
  database: z.string(),
  pool: z.object({ threads: z.int(), queued: z.int(), running: z.int() }),
  kernels: z.string(),
});

export const ProblemTypeParams = z.object({ slug: z.string() });
