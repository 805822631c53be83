-- Named and automatic versions of a project document (issue 13). `state` holds the
-- deflate-compressed yrs v1 update of the whole document at that moment; a state too large to
-- keep in a row is in the object store under `object_key` instead (exactly one of the two is
-- set while the version exists). A deleted version keeps its row, without its state, so that
-- threads and verdicts that name it still find its name.
CREATE TABLE versions (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    name            TEXT NOT NULL,
    note            TEXT,
    kind            TEXT NOT NULL,
    author_id       TEXT,
    author_name     TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    shots           INTEGER NOT NULL,
    state_bytes     INTEGER NOT NULL,
    stored_bytes    INTEGER NOT NULL,
    state           BLOB,
    object_key      TEXT,
    deleted_at_ms   INTEGER
);
CREATE INDEX versions_project ON versions (project_id, created_at_ms);
