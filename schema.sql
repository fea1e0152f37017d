-- Logship database schema. Idempotent: safe to run any number of times, also concurrently
-- (an advisory lock serialises appliers). Applied at start by workers and `logship up`.

SELECT pg_advisory_lock(7146601);

CREATE SEQUENCE IF NOT EXISTS log_events_id_seq;

-- One row per event (a line, or several lines for a multiline event).
-- Partitioned by day of `received_at` so that retention drops whole partitions.
CREATE TABLE IF NOT EXISTS log_events (
    id           bigint      NOT NULL DEFAULT nextval('log_events_id_seq'),
    received_at  timestamptz NOT NULL,            -- when the collector received the batch
    ts           timestamptz,                     -- event time parsed from the line, if any
    host         text        NOT NULL,            -- host named in the line, else the agent's host
    path         text        NOT NULL,            -- source file path on the agent's host
    level        text CHECK (level IN ('debug', 'info', 'notice', 'warning', 'error',
                                       'critical', 'alert', 'emergency')),
    format       text        NOT NULL,            -- rfc3164, rfc5424, access, json, python, ...
    message      text        NOT NULL,
    template_id  bigint,                          -- log_templates.id, filled by template mining
    agent        text        NOT NULL,            -- agent id
    file_id      text        NOT NULL,            -- source identity: dev:inode:fingerprint
    byte_offset  bigint      NOT NULL,            -- offset of the event's first line in the file
    line_count   integer     NOT NULL DEFAULT 1,  -- physical lines in the event
    batch_id     text        NOT NULL,
    fields       jsonb,                           -- parsed extra fields (JSON keys, access parts)
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

-- Every index costs each COPYed row (~1.2 us); keep those queries use: event time (what people
-- ask by hand), host and path (reports), template (detection). Reports and detection select by
-- received_at, which partition pruning serves. batch_id had an index no query used: dropped.
CREATE INDEX IF NOT EXISTS log_events_ts_idx ON log_events (ts);
CREATE INDEX IF NOT EXISTS log_events_host_path_idx ON log_events (host, path, received_at);
CREATE INDEX IF NOT EXISTS log_events_template_idx ON log_events (template_id);
DROP INDEX IF EXISTS log_events_batch_idx;

-- One row per stored batch. batch_id is the idempotency key: a batch delivered twice is stored once.
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id        text PRIMARY KEY,
    agent           text        NOT NULL,
    host            text        NOT NULL,
    path            text        NOT NULL,
    file_id         text        NOT NULL,
    first_offset    bigint      NOT NULL,
    lines_received  integer     NOT NULL,
    events_stored   integer     NOT NULL,
    lines_dropped   integer     NOT NULL,
    lines_truncated integer     NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ingest_batches_stored_idx ON ingest_batches (stored_at);

-- Why lines were dropped, per batch. lines_received = lines in events + sum(lines) here.
CREATE TABLE IF NOT EXISTS ingest_drops (
    batch_id  text    NOT NULL REFERENCES ingest_batches (batch_id) ON DELETE CASCADE,
    reason    text    NOT NULL,
    lines     integer NOT NULL,
    PRIMARY KEY (batch_id, reason)
);

-- Batches a worker could not store because of a data error (never retried automatically).
CREATE TABLE IF NOT EXISTS dead_letters (
    id          bigserial PRIMARY KEY,
    batch_id    text,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    error       text        NOT NULL,
    payload     bytea       NOT NULL
);

-- Log templates: the message with its variable parts shown as <*>.
CREATE TABLE IF NOT EXISTS log_templates (
    id          bigserial PRIMARY KEY,
    template    text        NOT NULL UNIQUE,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    events      bigint      NOT NULL DEFAULT 0
);
-- Set when template mining generalised this template into another one (a position found to be
-- variable): events keep their template_id; readers group by coalesce(merged_into, id).
ALTER TABLE log_templates ADD COLUMN IF NOT EXISTS merged_into bigint;

-- Anomalies found by the detector. Idempotent per (kind, host, path, template, window).
CREATE TABLE IF NOT EXISTS anomalies (
    id            bigserial PRIMARY KEY,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    kind          text        NOT NULL,
    host          text        NOT NULL DEFAULT '',
    path          text        NOT NULL DEFAULT '',
    template_id   bigint      NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    score         double precision NOT NULL,
    detail        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (kind, host, path, template_id, window_start)
);

-- Creates the day partition of log_events holding `day`, if it is missing.
CREATE OR REPLACE FUNCTION logship_ensure_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'log_events_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NULL THEN
        PERFORM pg_advisory_xact_lock(7146602);
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF log_events FOR VALUES FROM (%L) TO (%L)',
                name, day::timestamp AT TIME ZONE 'UTC',
                (day + 1)::timestamp AT TIME ZONE 'UTC');
        END IF;
    END IF;
    RETURN name;
END $$;

SELECT pg_advisory_unlock(7146601);
