// A real course on an assignment: its roster (ids with optional names and emails, and each student's token
// version, bumped to rotate a token; rows with enrolled = 0 only carry a rotated token) and the history of
// regrades (old and new score, the report before, a reason, a timestamp). Both go with their assignment.
export const course = `
CREATE TABLE roster (
  assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
  student       TEXT NOT NULL,
  name          TEXT,
  email         TEXT,
  enrolled      INTEGER NOT NULL DEFAULT 1,
  token_version INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (assignment_id, student)
);
CREATE TABLE regrades (
  id            TEXT PRIMARY KEY,
  assignment_id TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
  submission_id TEXT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
  student       TEXT NOT NULL,
  old_score     REAL NOT NULL,
  new_score     REAL NOT NULL,
  old_report    TEXT NOT NULL,
  reason        TEXT NOT NULL,
  at            TEXT NOT NULL
);
CREATE INDEX regrades_by_assignment ON regrades (assignment_id, at);
`;
