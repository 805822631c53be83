-- Projects are created through the REST API; their documents live in doc_updates/doc_snapshots
-- under the document names `{id}` and `{id}.review`.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- The compacted state of a document: every update with seq <= `seq` is folded into `state`.
CREATE TABLE doc_snapshots (
    doc         TEXT PRIMARY KEY NOT NULL,
    seq         BIGINT NOT NULL,
    state       BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The tail of a document: yrs v1 updates in the order the server accepted them.
CREATE TABLE doc_updates (
    doc         TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (doc, seq)
);

-- Content-addressed assets; the bytes live in the object store at projects/{id}/assets/{sha256}.
CREATE TABLE assets (
    project_id    TEXT NOT NULL REFERENCES projects(id),
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (project_id, sha256)
);
