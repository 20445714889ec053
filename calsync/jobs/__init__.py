"""Running sync rounds on a schedule: in process (one machine) or on Celery workers (scale)."""
