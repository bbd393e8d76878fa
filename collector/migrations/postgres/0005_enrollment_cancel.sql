-- PostgreSQL flavour of sqlite/0005_enrollment_cancel.sql (see there for the why).
ALTER TABLE enrollment_codes ADD COLUMN cancelled_at_ms BIGINT;
