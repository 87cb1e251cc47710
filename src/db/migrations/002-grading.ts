// Autograding: assignments (their spec as JSON and the secret problems are derived from) and submissions
// (the answers as sent, the report as graded, and when). Deleting an assignment deletes its submissions.
export const grading = `
CREATE TABLE assignments (
  id         TEXT PRIMARY KEY,
  title      TEXT NOT NULL,
  spec       TEXT NOT NULL,
  secret     BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX assignments_created ON assignments (created_at);
CREATE TABLE submissions (
  id            TEXT PRIMARY KEY,
  assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
  student       TEXT NOT NULL,
  answers       TEXT NOT NULL,
  report        TEXT NOT NULL,
  score         REAL NOT NULL,
  max_score     REAL NOT NULL,
  created_at    TEXT NOT NULL
);
CREATE INDEX submissions_by_student ON submissions (assignment_id, student, created_at);
CREATE INDEX submissions_by_time ON submissions (assignment_id, created_at);
`;
