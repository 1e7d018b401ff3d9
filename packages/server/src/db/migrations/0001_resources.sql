-- Resources: the current version of each resource, and every version in history.
-- Every table leads with project_id: tenancy is part of every key, and the schema can be
-- distributed by tenant later without a rewrite.

CREATE TABLE resource (
  project_id    uuid        NOT NULL,
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    uuid        NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  -- The current content; for a deleted resource, the content it had before deletion.
  content       jsonb       NOT NULL,
  PRIMARY KEY (project_id, resource_type, id)
);

CREATE INDEX resource_last_updated_idx ON resource (project_id, resource_type, last_updated);

CREATE TABLE resource_history (
  -- A global, increasing sequence: orders history and serves as a stable paging cursor.
  seq           bigserial   NOT NULL,
  project_id    uuid        NOT NULL,
  resource_type text        NOT NULL,
  id            text        NOT NULL,
  version_id    uuid        NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean     NOT NULL DEFAULT false,
  -- The interaction that made this version: POST, PUT, PATCH or DELETE.
  method        text        NOT NULL,
  -- NULL for a delete entry.
  content       jsonb,
  PRIMARY KEY (project_id, resource_type, id, version_id)
);

CREATE INDEX resource_history_instance_idx ON resource_history (project_id, resource_type, id, seq);
CREATE INDEX resource_history_type_idx ON resource_history (project_id, resource_type, seq);
CREATE INDEX resource_history_project_idx ON resource_history (project_id, seq);

-- Keys that sign the server's JWTs. Private keys never leave the server; public ones are
-- published at /.well-known/jwks.json while active.
CREATE TABLE signing_key (
  kid         text        PRIMARY KEY,
  alg         text        NOT NULL,
  public_jwk  jsonb       NOT NULL,
  private_jwk jsonb       NOT NULL,
  created_at  timestamptz NOT NULL,
  active      boolean     NOT NULL DEFAULT true
);

-- Sign-in looks Users up by email (stored lower-case) and memberships by user, across
-- projects; these expression indexes serve those two lookups until search indexes land.
CREATE INDEX resource_user_email_idx ON resource ((lower(content->>'email')))
  WHERE resource_type = 'User';
CREATE INDEX resource_membership_user_idx ON resource ((content->'user'->>'reference'))
  WHERE resource_type = 'ProjectMembership';
