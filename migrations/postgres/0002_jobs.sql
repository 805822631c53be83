-- Generation jobs: durable rows the job runner drives queued -> running -> succeeded | failed |
-- cancelled. `provider_task_id` is written right after the provider accepted the job, so a
-- restarted server polls it instead of submitting (and paying) again; `submission` keeps what
-- was sent (final prompt, provenance, reference assets) for the take's provenance.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY NOT NULL,
    project_id        TEXT NOT NULL REFERENCES projects(id),
    kind              TEXT NOT NULL,
    provider          TEXT NOT NULL,
    shot_id           TEXT,
    character_id      TEXT,
    -- The shot's 1-based place in the storyboard when the job was queued (drawn on offline frames).
    shot_number       BIGINT,
    recipe_id         TEXT NOT NULL,
    recipe_version    TEXT NOT NULL,
    state             TEXT NOT NULL,
    attempts          BIGINT NOT NULL,
    provider_task_id  TEXT,
    submission        TEXT,
    asset_sha256      TEXT,
    error_class       TEXT,
    error_message     TEXT,
    next_attempt_at_ms BIGINT NOT NULL,
    cost_estimate     DOUBLE PRECISION NOT NULL,
    cost              DOUBLE PRECISION,
    idempotency_key   TEXT,
    cancel_requested  BIGINT NOT NULL,
    created_at_ms     BIGINT NOT NULL,
    batch_index       BIGINT NOT NULL,
    updated_at_ms     BIGINT NOT NULL
);
-- The dispatcher's query: the oldest queued job that is due.
CREATE INDEX jobs_queue ON jobs (state, next_attempt_at_ms, created_at_ms, batch_index);
CREATE INDEX jobs_project ON jobs (project_id, created_at_ms, batch_index);
-- One idempotency key per target: a repeated request finds the jobs of the first.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (project_id, idempotency_key);

-- A project's spending limit (USD). Without a row a project has no limit.
CREATE TABLE project_budgets (
    project_id    TEXT PRIMARY KEY NOT NULL REFERENCES projects(id),
    limit_usd     DOUBLE PRECISION NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- What finished jobs cost, one entry per job (so recording it twice after a restart is a no-op).
CREATE TABLE cost_ledger (
    job_id        TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    amount_usd    DOUBLE PRECISION NOT NULL,
    source        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX cost_ledger_project ON cost_ledger (project_id);

-- Provider keys (BYOK), encrypted with ChaCha20-Poly1305 under the server's credentials key;
-- project id and provider are the associated data, so a row copied elsewhere does not decrypt.
CREATE TABLE provider_credentials (
    project_id    TEXT NOT NULL REFERENCES projects(id),
    provider      TEXT NOT NULL,
    nonce         BYTEA NOT NULL,
    ciphertext    BYTEA NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (project_id, provider)
);
