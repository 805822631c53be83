-- The tail of a document as one B-tree keyed by (doc, seq), instead of a rowid table plus the
-- primary-key index beside it: every appended update touched a page of each, and those page
-- writes to the WAL were most of the database's cost under a stream of small edits.
CREATE TABLE doc_updates_keyed (
    doc         TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (doc, seq)
) WITHOUT ROWID;

INSERT INTO doc_updates_keyed (doc, seq, data) SELECT doc, seq, data FROM doc_updates;
DROP TABLE doc_updates;
ALTER TABLE doc_updates_keyed RENAME TO doc_updates;
