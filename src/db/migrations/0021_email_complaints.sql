-- email_events learns the event type `complaint`: a recipient's spam report that comes back through a
-- mailbox provider's feedback loop (ARF, RFC 5965), sent to Opsdeck like any other event. Complaint rates
-- gate IP warm-up and enter the reputation overviews. Only the CHECK list and the column comment change:
-- no row is rewritten, and the rollups (which count the types they name) are untouched.
ALTER TABLE email_events
  DROP CONSTRAINT email_events_event_type_check,
  ADD CONSTRAINT email_events_event_type_check CHECK (event_type IN ('sent', 'delivered', 'bounced', 'deferred', 'rejected', 'received', 'complaint'));
COMMENT ON COLUMN email_events.event_type IS 'What happened: sent, delivered, bounced, deferred, rejected, received, complaint (a recipient reported the message as spam)';
