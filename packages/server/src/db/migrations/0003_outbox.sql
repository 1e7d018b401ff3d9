-- Mail kept in the database (src/email/outbox.ts): every message when no SMTP_URL is set,
-- which is how the embedded default delivers invites and reset links (`tessera outbox`
-- shows them), and a copy of any message an SMTP server would not take, so a failed invite
-- can still be passed on by hand. Rows are never deleted by the server.
--
-- The bodies hold live links (invites, password resets) until those expire, so reading this
-- table is an operator's or super admin's privilege.

CREATE TABLE email_outbox (
  id           uuid        PRIMARY KEY,
  -- Breaks ties between rows written in the same instant (or under a fake clock), so
  -- "newest first" is a stable order.
  seq          bigserial   NOT NULL,
  created_at   timestamptz NOT NULL,
  -- The project the mail is about (an invite), NULL for server-wide mail (password reset);
  -- lets a project admin be shown only their own project's mail.
  project_id   uuid,
  sender       text        NOT NULL,
  recipient    text        NOT NULL,
  subject      text        NOT NULL,
  body_text    text        NOT NULL,
  body_html    text,
  -- 'stored': kept here because no SMTP server is configured.
  -- 'smtp_failed': the SMTP server was tried and did not take it; `error` says why.
  status       text        NOT NULL CHECK (status IN ('stored', 'smtp_failed')),
  error        text
);

CREATE INDEX email_outbox_newest_idx ON email_outbox (created_at DESC, seq DESC);
CREATE INDEX email_outbox_project_idx ON email_outbox (project_id, created_at DESC) WHERE project_id IS NOT NULL;
CREATE INDEX email_outbox_recipient_idx ON email_outbox (lower(recipient), created_at DESC);
