"""calsync: keep a CRM calendar and Google Calendar/Tasks in sync."""
