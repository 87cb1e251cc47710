// Versioned migrations, applied in order; PRAGMA user_version records how far a database has come.
// Append only: a released migration never changes.
import { models } from './001-models.js';
import { grading } from './002-grading.js';
import { runs } from './003-runs.js';
import { history } from './004-history.js';

export const MIGRATIONS: readonly string[] = [models, grading, runs, history];
