"""Health and metrics."""

from __future__ import annotations

from pathlib import Path

from calsync.state import Store
from tests.web.conftest import WebEnv


def test_healthz_reports_the_database(web: WebEnv) -> None:
    """`/healthz` is JSON with ok and database; 503 when the store cannot be reached."""
    client = web.client()
    assert client.get("/healthz").json() == {"ok": True, "database": True}
    web.store.close()
    web.store._engine = __import__("sqlalchemy").create_engine("sqlite:////nonexistent/dir/x.db")
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"ok": False, "database": False}


def test_metrics_use_a_registry_per_app(web: WebEnv) -> None:
    """Metrics are Prometheus text from this app's own registry (no process-global series)."""
    r = web.client().get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    for name in (
        "calsync_syncs_total",
        "calsync_sync_failures_total",
        "calsync_google_api_calls_total",
        "calsync_sync_duration_seconds",
        "calsync_google_api_calls_today",
    ):
        assert name in r.text
    assert "python_gc_objects_collected_total" not in r.text


def test_pages_send_security_headers(web: WebEnv) -> None:
    """Pages forbid framing and inline scripts."""
    r = web.client().get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_api_calls_of_the_day_come_from_the_store(web: WebEnv) -> None:
    """The calls counted by every process today are exported and shown to the admin."""
    from calsync.quota import quota_day

    web.store.add_calls("alice", 7, quota_day())
    assert "calsync_google_api_calls_today 7.0" in web.client().get("/metrics").text
    page = web.signed_in("admin").get("/admin").text
    assert "7 calls" in page


def test_healthz_is_not_ok_while_another_writer_locks_the_database(web: WebEnv) -> None:
    """A database that answers reads but takes no write (another process holds its write
    lock) is unusable for sign-ins and rounds: 503, and ok again once the lock is gone."""
    import sqlite3

    holder = sqlite3.connect(str(web.store.engine.url.database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert web.store.get_setting("anything", "read") == "read"
        r = web.client().get("/healthz")
        assert r.status_code == 503
        assert r.json() == {"ok": False, "database": False}
    finally:
        holder.close()
    assert web.client().get("/healthz").json() == {"ok": True, "database": True}


def test_runs_left_running_by_a_killed_process_are_abandoned_at_start_up(
    store: Store, tmp_path: Path
) -> None:
    """A round killed mid-way leaves its run `running`; the next app start marks it abandoned
    (its user's lock is free), and the user's page no longer shows it as running."""
    from calsync.web import create_app
    from tests.web.conftest import application
    from tests.web.fakes import FakeCrm

    store.upsert_user("alice")
    killed = store.start_run("alice")
    create_app(application(store, tmp_path), crm_auth=FakeCrm({}))
    run = store.last_run("alice")
    assert run is not None and run.id == killed
    assert run.status == "abandoned" and run.finished_at is not None
