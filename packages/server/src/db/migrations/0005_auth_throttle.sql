-- Sign-in throttling (src/auth/throttle.ts), shared by every server instance through the
-- database: one row per throttled key, counting attempts in a window. Keys are hashed
-- (SHA-256 of the kind and the value), so the table holds no email address nor IP in clear.
--   account     an email, lower-cased, whether or not a user has it (no enumeration)
--   ip          a client address
--   mfa         a user id (TOTP codes)
--   secret      a UserSecurityRequest id (set-password links)
--   reset-mail  an email: how many reset mails it was sent (against mail bombing)
-- Not tenant data: an email is throttled across projects, so a project id cannot be used to
-- get a fresh counter. Rows whose last attempt is older than the window and whose lock has
-- ended are deleted by the server from time to time.

CREATE TABLE auth_throttle (
  kind             text        NOT NULL CHECK (kind IN ('account', 'ip', 'mfa', 'secret', 'reset-mail')),
  key_hash         text        NOT NULL,
  -- Attempts counted since the window (re)started; an attempt counts before the password is
  -- checked, so parallel guesses cannot slip past the limit, and a success undoes it.
  attempts         integer     NOT NULL DEFAULT 0,
  -- How many times the key was locked in this window: each lock lasts twice the previous one.
  lockouts         integer     NOT NULL DEFAULT 0,
  locked_until     timestamptz,
  last_attempt_at  timestamptz NOT NULL,
  PRIMARY KEY (kind, key_hash)
);

CREATE INDEX auth_throttle_last_attempt_idx ON auth_throttle (last_attempt_at);

-- The last TOTP time step a user signed in with (RFC 6238 section 5.2: a code is accepted
-- once): a code of that step or an earlier one is refused. Updated with a conditional upsert,
-- so two instances cannot both accept the same code.
CREATE TABLE mfa_used_step (
  user_id    text    PRIMARY KEY,
  last_step  bigint  NOT NULL
);
