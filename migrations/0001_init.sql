-- Lethe schema, version 1. Applied by `lethe-server migrate` (or at server start) under a
-- PostgreSQL advisory lock, recorded in schema_migrations. Never edit an applied
-- migration: add the next numbered file instead (the migrator checks each file's SHA-256).
--
-- (gen_random_uuid() is core since PostgreSQL 13: no extension needed.)
--
-- State machines (text columns with CHECK constraints, so a worker written in any
-- language reads them without a lookup table):
--   forget_requests.state: received -> queued -> running -> completed | failed | cancelled
--   jobs.state:            queued -> running -> succeeded | failed | cancelled
--   model_versions.state:  active -> superseded -> purged


-- Bearer tokens. Only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role         text NOT NULL CHECK (role IN ('dpo', 'service', 'operator', 'admin')),
  token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- A hosted generator. production_version is the version served ("production" alias).
CREATE TABLE models (
  name                text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  num_classes         integer NOT NULL CHECK (num_classes BETWEEN 1 AND 100000),
  resolution          integer NOT NULL CHECK (resolution BETWEEN 1 AND 8192),
  img_channels        integer NOT NULL CHECK (img_channels IN (1, 3)),
  preset              text NOT NULL DEFAULT '',
  -- Dimensions of one training item as uploaded (Fashion-MNIST: 28x28x1 for a 32x32 model).
  item_width          integer NOT NULL CHECK (item_width BETWEEN 1 AND 8192),
  item_height         integer NOT NULL CHECK (item_height BETWEEN 1 AND 8192),
  item_channels       integer NOT NULL CHECK (item_channels IN (1, 3)),
  dataset_name        text NOT NULL DEFAULT '',
  dataset_fingerprint text NOT NULL DEFAULT '',
  config              jsonb NOT NULL DEFAULT '{}',
  production_version  bigint,
  created_at          timestamptz NOT NULL DEFAULT now()
);

-- Lease-based jobs: a worker claims a queued job (FOR UPDATE SKIP LOCKED), sets
-- lease_owner/lease_expires_at and renews the lease while it runs; another worker may
-- take over a running job whose lease expired (attempt + 1). Workers form a job from
-- the QUEUED forget_requests of one model (coalescing them via job_requests); at most
-- one job per model runs at a time, each from the model's production version.
CREATE TABLE jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  model            text NOT NULL REFERENCES models (name),
  kind             text NOT NULL DEFAULT 'unlearn' CHECK (kind IN ('unlearn', 'retrain')),
  state            text NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempt          integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  lease_owner      text,
  lease_expires_at timestamptz,
  progress         jsonb NOT NULL DEFAULT '{}',
  base_version     bigint,
  result_version   bigint UNIQUE,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX jobs_one_running_per_model ON jobs (model) WHERE state = 'running';
CREATE INDEX jobs_queued ON jobs (created_at) WHERE state = 'queued';
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';

-- An immutable model version; files live in the model store under `uri`.
CREATE TABLE model_versions (
  id         bigserial PRIMARY KEY,
  model      text NOT NULL REFERENCES models (name),
  parent     bigint REFERENCES model_versions (id),
  sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),  -- of its manifest.json
  uri        text NOT NULL,
  state      text NOT NULL CHECK (state IN ('active', 'superseded', 'purged')),
  files      jsonb NOT NULL DEFAULT '{}',   -- {"file name": "sha256"}
  metrics    jsonb NOT NULL DEFAULT '{}',
  job        uuid REFERENCES jobs (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  superseded_at timestamptz,
  purged_at  timestamptz,
  UNIQUE (model, sha256)
);
CREATE UNIQUE INDEX model_versions_one_active ON model_versions (model) WHERE state = 'active';
-- Invariant: one job publishes at most one version.
CREATE UNIQUE INDEX model_versions_one_per_job ON model_versions (job) WHERE job IS NOT NULL;

ALTER TABLE models ADD CONSTRAINT models_production_version_fk
  FOREIGN KEY (production_version) REFERENCES model_versions (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE jobs ADD CONSTRAINT jobs_base_version_fk
  FOREIGN KEY (base_version) REFERENCES model_versions (id);
ALTER TABLE jobs ADD CONSTRAINT jobs_result_version_fk
  FOREIGN KEY (result_version) REFERENCES model_versions (id);

-- The training manifest of a model: every item it may have been trained on.
-- sha256 = SHA-256 of the item's decoded 8-bit row-major pixels (hex).
CREATE TABLE dataset_items (
  model   text NOT NULL REFERENCES models (name) ON DELETE CASCADE,
  item_id text NOT NULL,
  sha256  text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  label   integer NOT NULL CHECK (label >= 0),
  split   text NOT NULL CHECK (split IN ('train', 'test')),
  PRIMARY KEY (model, item_id)
);
CREATE INDEX dataset_items_by_hash ON dataset_items (model, sha256);
CREATE INDEX dataset_items_by_label ON dataset_items (model, label) WHERE split = 'train';

-- One erasure request. idempotency_key is unique per requester (AIP-155); body_sha256
-- is the SHA-256 of the request's canonical JSON (uploaded images by their hash).
-- params:   the optional hyperparameters, only those set: {"fake_label": 0.1,
--           "fake_label_target": "sigmoid"|"logit", "alpha_pixel": 1.0,
--           "alpha_perceptual": 0.0, "destination": "forget_auc"|"non_member"|
--           "class_fd_relative"|"class_fd_absolute", "destination_threshold": 0.8,
--           "iteration_budget": 400, "truncation_psi": 0.5}.
-- legal_ground: art17_1a .. art17_1f | other (then legal_ground_text says which).
-- subject_hash: SHA-256 of the data-subject reference with the server's salt; the
--           reference itself is never stored.
-- cancel_requested: set by CancelForgetRequest on a running request; the worker stops.
-- cancel_reason, extended_reason: free text kept here; the audit log records only its
--           SHA-256 (free text may name people).
-- progress: {"phase": "...", "fraction": 0.5, "iteration": 10, "iteration_budget": 400,
--            "metrics": {"auc_u": 0.7}, "message": "..."} (written by the worker).
-- result:   {"model_version": 12, "model_version_sha256": "...", "report": {...},
--            "error": "..."}.
CREATE TABLE forget_requests (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idempotency_key         uuid NOT NULL,
  body_sha256             text NOT NULL,
  requester_token_id      bigint NOT NULL REFERENCES api_tokens (id),
  requester_name          text NOT NULL,
  model                   text NOT NULL REFERENCES models (name),
  kind                    text NOT NULL CHECK (kind IN ('items', 'class')),
  class_label             integer CHECK (class_label >= 0),
  mode                    text NOT NULL CHECK (mode IN ('few_shot', 'zero_shot')),
  substitute              text NOT NULL
                          CHECK (substitute IN ('average', 'truncation', 'projection', 'other_class')),
  params                  jsonb NOT NULL DEFAULT '{}',
  state                   text NOT NULL
                          CHECK (state IN ('received', 'queued', 'running', 'completed', 'failed',
                                           'cancelled')),
  phase                   text CHECK (phase IN ('inverting', 'unlearning', 'evaluating',
                                                'publishing')),
  progress                jsonb NOT NULL DEFAULT '{}',
  cancel_requested        boolean NOT NULL DEFAULT false,
  subject_hash            text,
  legal_ground            text NOT NULL,
  legal_ground_text       text,
  forget_unmatched_images boolean NOT NULL DEFAULT false,
  item_count              integer NOT NULL DEFAULT 0,
  image_count             integer NOT NULL DEFAULT 0,
  unmatched_image_count   integer NOT NULL DEFAULT 0,
  received_at             timestamptz NOT NULL DEFAULT now(),
  due_at                  timestamptz NOT NULL,
  cancel_reason           text,
  extension_days          integer NOT NULL DEFAULT 0 CHECK (extension_days >= 0),
  extended_reason         text,
  extended_at             timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  completed_at            timestamptz,
  result                  jsonb,
  UNIQUE (requester_token_id, idempotency_key),
  CHECK ((kind = 'class') = (class_label IS NOT NULL))
);
CREATE INDEX forget_requests_by_time ON forget_requests (received_at DESC, id DESC);
CREATE INDEX forget_requests_by_requester
  ON forget_requests (requester_token_id, received_at DESC, id DESC);
CREATE INDEX forget_requests_open ON forget_requests (model, received_at)
  WHERE state IN ('received', 'queued', 'running');

-- The items of an items-request (class requests list none: the class is the target).
-- item_id is NULL for an uploaded image that matched no training item (only with
-- forget_unmatched_images). image holds the uploaded PNG until the request completes.
CREATE TABLE request_items (
  request_id  uuid NOT NULL REFERENCES forget_requests (id) ON DELETE CASCADE,
  ordinal     integer NOT NULL,
  item_id     text,
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  upload_name text,
  image       bytea,
  PRIMARY KEY (request_id, ordinal)
);
CREATE INDEX request_items_by_item ON request_items (item_id) WHERE item_id IS NOT NULL;

-- Requests coalesced into one job.
CREATE TABLE job_requests (
  job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  request_id uuid NOT NULL REFERENCES forget_requests (id),
  PRIMARY KEY (job_id, request_id)
);
CREATE INDEX job_requests_by_request ON job_requests (request_id);

-- Forgotten items: never again used as retained data (few-shot sample, retraining).
-- item_id is NULL for forgotten uploaded images that matched no training item.
CREATE TABLE tombstones (
  id         bigserial PRIMARY KEY,
  model      text NOT NULL REFERENCES models (name),
  item_id    text,
  sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  request_id uuid REFERENCES forget_requests (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tombstones_item ON tombstones (model, item_id) WHERE item_id IS NOT NULL;
CREATE INDEX tombstones_hash ON tombstones (model, sha256);

-- Tamper-evident log: hash = SHA-256(prev_hash || canonical JSON of {action, actor, at,
-- payload, request_id, seq}) as lowercase hex; prev_hash of the first record is 64 zeros.
-- Appenders lock the single audit_head row (SELECT ... FOR UPDATE), number their records
-- from its last_seq, link them to its last_hash and move it forward in the same
-- transaction (common/audit.cc), so seq order and prev_hash links always agree and a
-- deleted tail is detected too. `at` has microsecond precision (UTC) so it round-trips.
CREATE TABLE audit_log (
  seq        bigint PRIMARY KEY CHECK (seq >= 1),
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  request_id uuid,
  payload    jsonb NOT NULL DEFAULT '{}',
  prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_by_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL;

CREATE TABLE audit_head (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq  bigint NOT NULL,
  last_hash text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$')
);
INSERT INTO audit_head (id, last_seq, last_hash)
  VALUES (true, 0, '0000000000000000000000000000000000000000000000000000000000000000');
