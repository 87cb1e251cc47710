// Versioned migrations, applied in order; PRAGMA user_version records how far a database has come.
// Append only: a released migration never changes.
import { models } from './001-models.js';
import { runs } from './002-runs.js';

export const MIGRATIONS: readonly string[] = [models, runs];
