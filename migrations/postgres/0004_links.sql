-- Share links and the people who act through them (issue 13). A token names its link (`l`)
-- and, once its holder has given a name, its person (`u`); the server checks the link's row on
-- every request, so a link can be listed and revoked. `person_id` is set for a personal invite
-- (the person was named when the link was made); anyone else who opens a link joins as a new
-- person of that link.
CREATE TABLE links (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    role            TEXT NOT NULL,
    label           TEXT NOT NULL,
    person_id       TEXT,
    review_version  TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX links_project ON links (project_id, created_at);

-- Everyone who acts in a project, as authors of comments, verdicts and edits. Kept when their
-- link is revoked: what they wrote stays theirs.
CREATE TABLE people (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    link_id     TEXT NOT NULL REFERENCES links(id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX people_project ON people (project_id, created_at);
