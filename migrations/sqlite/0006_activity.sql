-- Activity with attribution: who changed what in a project document, grouped into runs of one
-- person's edits (a run is extended while its next edit comes within the server's grouping
-- gap). Written by the room that applied the edits, every few seconds and when it unloads.
-- `person_key` is the person's id, or the name of an author without one (the server itself,
-- "Shotweave"), so a group is found again by one equality. Shot, scene and character ids are
-- JSON arrays: a group is read and rewritten whole, never queried by its contents.
-- No foreign key to projects: rooms serve documents by name, and a row must never be the
-- reason an edit's attribution is lost.
CREATE TABLE activity (
    id            TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT NOT NULL,
    person_key    TEXT NOT NULL,
    person_id     TEXT,
    name          TEXT NOT NULL,
    from_ms       INTEGER NOT NULL,
    to_ms         INTEGER NOT NULL,
    shots         TEXT NOT NULL,
    scenes        TEXT NOT NULL,
    characters    TEXT NOT NULL,
    script_edits  INTEGER NOT NULL
);
-- Newest first per project (the activity list), and a person's latest group (extending it).
CREATE INDEX activity_project ON activity (project_id, to_ms);
CREATE INDEX activity_person ON activity (project_id, person_key, to_ms);

-- Who last changed each shot, and when (one row per shot, upserted).
CREATE TABLE shot_authors (
    project_id  TEXT NOT NULL,
    shot_id     TEXT NOT NULL,
    person_id   TEXT,
    name        TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (project_id, shot_id)
);
