"""Rounds on Celery workers across processes: two `calsync worker` processes on a real Redis
broker and a real PostgreSQL state store sync 200 users; one worker is killed (SIGKILL) in
the middle of a round, and every user still ends with each event exactly once on both sides.

Needs CALSYNC_TEST_POSTGRES_URL and a Redis server on 127.0.0.1:6379 (`.ci/services` starts
both); skipped when either is missing.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from calsync.errors import ConfigError
from calsync.jobs.worker import check_worker_settings
from tests.distributed.cluster import Cluster, GoogleEmulator, free_redis_db, wait_until
from tests.pg import PG_ENV, fresh_database

pytestmark = [pytest.mark.distributed, pytest.mark.postgres]

USERS = 200


def redis_answers() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def unsynced_commits(base: str, url: str) -> None:
    """Let the test database acknowledge commits before they reach the disk: what the test
    kills is a worker, never the database server, and fsyncs would be most of its time."""
    name = sa.make_url(url).database
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    finally:
        engine.dispose()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server for the shared state store")
    if not redis_answers():
        pytest.skip("no Redis server on 127.0.0.1:6379 for the broker")
    broker = free_redis_db()
    # Google's round trips take time, as they do for real: a round then spends most of its
    # time waiting on them, so the kill below lands inside one rather than between two.
    google = GoogleEmulator(latency_ms=50)
    with fresh_database(base, "calsync_dist") as state, fresh_database(base, "calsync_crm") as crm:
        for url in (state, crm):
            unsynced_commits(base, url)
        cluster = Cluster(state, crm, broker, google, tmp_path)
        try:
            yield cluster
        finally:
            cluster.stop_workers()
            google.stop()
            redis.Redis.from_url(broker).flushdb()


def test_killed_worker_loses_and_duplicates_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """200 users with events born on both sides; two workers share the jobs; one is killed
    while it holds a user's lock, mid-round. Its job goes back to the queue and runs again
    (on the other worker or on the one started in its place): every user converges, with
    every event once on each side, none lost, none doubled."""
    cluster.seed(USERS)
    victim = cluster.start_worker(tmp_path / "worker-a.log")
    cluster.start_worker(tmp_path / "worker-b.log")
    assert cluster.enqueue_all() == USERS
    # A second beat before any round started sends nothing: one job per user waits at most.
    assert cluster.enqueue_all() == 0

    # Kill the first worker while it is inside a round: it holds the user's lock and the
    # round is recorded as started, not yet as ended.
    marker = f":{victim.pid}:"
    wait_until(lambda: cluster.users_synced_ok() >= USERS // 10, "the first rounds")
    wait_until(
        lambda: any(marker in owner for owner in cluster.running_round_owners()),
        "the first worker to be inside a round",
    )
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    cluster.start_worker(tmp_path / "worker-c.log")

    wait_until(
        lambda: (
            cluster.users_synced_ok() == USERS
            and cluster.jobs_waiting() == 0
            and cluster.run_statuses()["running"] == 0
        ),
        "every user's round to end well",
        timeout=240,
        show=lambda: (cluster.users_synced_ok(), cluster.jobs_waiting(), cluster.run_statuses()),
    )
    statuses = cluster.run_statuses()
    # The killed round never recorded its end; the round after it found it abandoned.
    assert statuses["abandoned"] >= 1, statuses
    assert set(statuses) <= {"ok", "abandoned", "busy"}, statuses

    for user in cluster.users:
        want = Counter(user.expected)
        assert cluster.crm_titles(user.name) == want, user.name
        assert cluster.google.summaries(user.access_token) == want, user.name


def test_a_worker_with_beat_syncs_every_linked_user(cluster: Cluster, tmp_path: Path) -> None:
    """`calsync worker --beat` enqueues every linked user's round itself (nobody else sends a
    job) and runs them: both sides end with each user's events once."""
    cluster.seed(10)
    cluster.start_worker(tmp_path / "worker.log", "--beat")
    wait_until(
        lambda: cluster.users_synced_ok() == 10 and cluster.jobs_waiting() == 0,
        "the beat's rounds",
        show=lambda: (cluster.users_synced_ok(), cluster.run_statuses()),
    )
    for user in cluster.users:
        want = Counter(user.expected)
        assert cluster.crm_titles(user.name) == want, user.name
        assert cluster.google.summaries(user.access_token) == want, user.name


def test_worker_refuses_sqlite_and_a_missing_broker(tmp_path: Path) -> None:
    """`calsync worker` says what it needs: a broker, and PostgreSQL for the state store and
    the embedded CRM (workers on several machines share them)."""
    from calsync.config import Settings

    pg = "postgresql+psycopg://postgres@127.0.0.1/calsync"
    with pytest.raises(ConfigError, match="CALSYNC_BROKER_URL"):
        check_worker_settings(Settings(data_dir=tmp_path, database_url=pg, local_crm_url=pg))
    with pytest.raises(ConfigError, match="PostgreSQL"):
        check_worker_settings(Settings(data_dir=tmp_path, broker_url="redis://127.0.0.1:6379/0"))
    with pytest.raises(ConfigError, match="embedded CRM on PostgreSQL"):
        check_worker_settings(
            Settings(data_dir=tmp_path, broker_url="redis://127.0.0.1/0", database_url=pg)
        )
    with pytest.raises(ConfigError, match="Redis URL"):
        check_worker_settings(
            Settings(data_dir=tmp_path, broker_url="amqp://h//", database_url=pg, local_crm_url=pg)
        )
    check_worker_settings(
        Settings(data_dir=tmp_path, broker_url="redis://h/0", database_url=pg, local_crm_url=pg)
    )


def test_worker_command_refuses_sqlite_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`calsync worker` on the default SQLite store exits 2 with one line saying PostgreSQL is
    needed, and creates no database."""
    from typer.testing import CliRunner

    from calsync.cli import app

    monkeypatch.setenv("CALSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CALSYNC_BROKER_URL", "redis://127.0.0.1:6379/0")
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "data" / "calsync.db").exists()
