// Every migration, in order, for both dialects. Append only: a released migration never changes.
import { models } from './001-models.js';
import { grading } from './002-grading.js';
import { runs } from './003-runs.js';
import { secrets } from './004-secrets.js';
import { course } from './005-course.js';
import { history } from './006-history.js';
import { checkpoints } from './007-checkpoints.js';
import { blobChunks } from './008-blob-chunks.js';
import type { Migration } from './types.js';

export const MIGRATIONS: readonly Migration[] = [
  models,
  grading,
  runs,
  secrets,
  course,
  history,
  checkpoints,
  blobChunks,
];
