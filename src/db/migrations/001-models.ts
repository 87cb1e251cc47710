// Stored models: config as JSON, weights as little-endian float64 in WEIGHT_KEYS order (exact, compact).
export const models = `
CREATE TABLE models (
  id         TEXT PRIMARY KEY,
  name       TEXT UNIQUE,
  config     TEXT NOT NULL,
  weights    BLOB NOT NULL,
  source     TEXT NOT NULL,
  version    INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX models_created ON models (created_at);
`;
