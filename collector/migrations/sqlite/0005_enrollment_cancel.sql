-- Revocation sticks (issue 16): revoking a probe or rotating its token cancels the enrollment
-- codes it has outstanding, so a code printed before cannot hand the probe a fresh token. A
-- cancelled code is kept (not deleted) so that its holder is told why it stopped working.
ALTER TABLE enrollment_codes ADD COLUMN cancelled_at_ms INTEGER;
