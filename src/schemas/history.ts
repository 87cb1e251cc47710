// A run's history: GET /v1/runs/:id/history (its step series downsampled on the server, its hidden
// snapshots) and GET /v1/runs/:id/export (every step, as CSV or JSON Lines).
import { z } from 'zod';

/** Most buckets one history request may ask for. */
export const MAX_POINTS = 5000;
/** Most hidden snapshots one history request returns (each is T × H numbers). */
export const MAX_SNAPSHOTS = 256;
/** Most steps one request may name in `at`. */
export const MAX_AT = 256;
export const HISTORY_KINDS = ['step', 'profile', 'hidden'] as const;

const step = (what: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional()
    .meta({ description: what });

/** Not strict: a download link carries its token as ?access_token=. */
export const HistoryQuery = z.object({
  from: step('first step of the range (default 0)'),
  to: step('last step of the range, inclusive (default: the last recorded)'),
  points: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_POINTS)
    .default(1000)
    .meta({ description: 'most buckets of steps (and of sampled profiles)' }),
  snapshots: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_SNAPSHOTS)
    .default(16)
    .meta({ description: 'most hidden snapshots' }),
  kinds: z
    .string()
    .default('step')
    .transform((s) => [...new Set(s.split(',').map((k) => k.trim()))])
    .pipe(z.array(z.enum(HISTORY_KINDS)).min(1))
    .meta({
      description:
        'comma-separated: step (the series, downsampled), profile (single steps: dL/dh_t and gradNorm), ' +
        'hidden (the snapshots); default step',
    }),
  at: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .transform((s) => [...new Set(s.split(',').map(Number))].sort((a, b) => a - b))
    .pipe(z.array(z.int()).max(MAX_AT))
    .optional()
    .meta({
      description:
        `the steps of the profiles (at most ${MAX_AT}); default: the snapshots' steps when hidden is asked, ` +
        'else the first step of each bucket',
    }),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

const column = z.array(z.number().nullable());

export const SeriesBuckets = z
  .strictObject({ min: column, max: column, mean: column })
  .meta({ id: 'SeriesBuckets', description: 'one value per bucket; null where the bucket has none' });

export const StepHistory = z
  .strictObject({
    bucket: z.int().meta({ description: 'steps per bucket (1: every step); buckets start at multiples of it' }),
    start: z.array(z.int()).meta({ description: 'first step of each bucket within the range' }),
    count: z.array(z.int()).meta({ description: 'steps recorded in each bucket' }),
    series: z.record(z.string(), SeriesBuckets).meta({
      description: 'loss, accuracy, gradNorm (‖dL/dθ‖ over all weights) and gradNorm.<weight>: min, max, mean',
    }),
    dhNorm: z
      .array(z.array(z.number()))
      .optional()
      .meta({ description: 'when bucket is 1: ‖dL/dh_t‖ for t = 0..T−1 of each step' }),
  })
  .meta({ id: 'StepHistory' });
export type StepHistory = z.infer<typeof StepHistory>;

export const ProfileHistory = z
  .strictObject({
    steps: z
      .array(z.int())
      .meta({ description: 'the steps, as recorded (a step asked for but not recorded is left out)' }),
    dhNorm: z.array(z.array(z.number())).meta({ description: '‖dL/dh_t‖ for t = 0..T−1, per step' }),
    gradNorm: z.array(z.record(z.string(), z.number())).meta({ description: '‖dL/dθ‖ per weight, per step' }),
  })
  .meta({ id: 'ProfileHistory' });
export type ProfileHistory = z.infer<typeof ProfileHistory>;

export const HiddenHistory = z
  .strictObject({
    every: z.int().meta({ description: 'the run takes a snapshot every this many steps (and one at the end)' }),
    total: z.int().meta({ description: 'snapshots recorded in the range' }),
    stride: z.int().meta({ description: 'every stride-th of them is returned, to stay within the budget' }),
    last: z.int().nullable().meta({ description: 'the step of the last snapshot in the range' }),
    steps: z.array(z.int()),
    h: z.array(z.array(z.array(z.number()))).meta({ description: '(T, H) per snapshot' }),
  })
  .meta({ id: 'HiddenHistory' });
export type HiddenHistory = z.infer<typeof HiddenHistory>;

export const RunHistory = z
  .strictObject({
    id: z.string(),
    from: z.int(),
    to: z.int().meta({ description: 'the range answered: the one asked, within the recorded steps' }),
    recorded: z
      .strictObject({ first: z.int(), last: z.int() })
      .nullable()
      .meta({ description: 'the steps recorded so far; null before the first' }),
    settings: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .meta({ description: 'what the run trains with, flat (task, length, hiddenSize, optimizer, lr, …)' }),
    step: StepHistory.optional(),
    profile: ProfileHistory.optional(),
    hidden: HiddenHistory.optional(),
  })
  .meta({ id: 'RunHistory' });
export type RunHistory = z.infer<typeof RunHistory>;

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS).default('csv').meta({ description: 'csv (one row per step) or jsonl (step frames)' }),
});
