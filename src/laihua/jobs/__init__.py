"""Background jobs: the e-mail outbox, the tasks the Celery workers run and the periodic schedule (beat).

- `models`: OutgoingEmail, one row per message written in the sender's transaction;
- `mail`: the e-mail backend every `send_mail` goes through, and the delivery that sends a row once;
- `tasks`: the jobs (e-mail, reminders, quote expiry, rate import, audit check, backup), idempotent,
  retried with backoff and acknowledged late;
- `schedule`: the default periodic jobs, kept in the database by django-celery-beat (`laihua jobs schedule`).
"""
