"""Store: every app-facing method, encryption at rest, and PairStore round trips."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from calsync.config import Settings
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.store import Conflict, LogEntry, PairStore, Touching
from calsync.prefs import Direction, Prefs, PrefsError, PrivateMode
from calsync.state import (
    LinkStatus,
    Role,
    SettingKey,
    Store,
    UnknownUser,
    UserExists,
    WrongKey,
)
from calsync.state import accounts as accounts_module
from calsync.state import tables as t

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


def _pair(key: str = "k1", **kw: object) -> Pair:
    base = Pair(user="alice", kind=Kind.EVENT, key=key, crm_id=f"crm-{key}", google_id=f"g{key}")
    return base.with_(**kw)


def test_store_is_a_pair_store(store: Store) -> None:
    engine_view: PairStore = store
    assert engine_view.pairs("alice", Kind.EVENT) == []


# -- users -----------------------------------------------------------------------------------


def test_users_create_upsert_get_list_delete(store: Store) -> None:
    bob = store.create_user("bob", crm_id="19x6", email="bob@x.org", time_zone="America/New_York")
    assert (bob.name, bob.crm_id, bob.role, bob.has_password) == ("bob", "19x6", Role.USER, False)
    with pytest.raises(UserExists):
        store.create_user("bob")
    alice = store.upsert_user("alice", role="admin", time_zone="Europe/Rome")
    assert alice.is_admin and alice.time_zone == "Europe/Rome" and alice.email == ""
    alice = store.upsert_user("alice", email="a@x.org")
    assert alice.is_admin and alice.email == "a@x.org" and alice.time_zone == "Europe/Rome"
    assert [u.name for u in store.list_users()] == ["alice", "bob"]
    assert store.get_user("carol") is None
    store.delete_user("bob")
    assert store.get_user("bob") is None


def test_passwords(store: Store) -> None:
    store.create_user("alice", password="s3cret")
    assert store.verify_password("alice", "s3cret")
    assert not store.verify_password("alice", "wrong")
    assert not store.verify_password("nobody", "s3cret")
    store.set_password("alice", "other")
    assert store.verify_password("alice", "other") and not store.verify_password("alice", "s3cret")
    store.set_password_hash("alice", None)
    assert not store.verify_password("alice", "other")
    assert not store.get_user("alice").has_password  # type: ignore[union-attr]
    with pytest.raises(UnknownUser):
        store.set_password("nobody", "x")


# -- links -----------------------------------------------------------------------------------


def test_link_round_trip_and_token_encrypted_at_rest(store: Store) -> None:
    store.create_user("alice")
    token = "1//refresh-token-CANARY"
    link = store.set_link("alice", "alice@gmail.com", token, ["calendar", "tasks"])
    assert link.refresh_token == token and link.scopes == ("calendar", "tasks")
    assert link.status is LinkStatus.OK and token not in repr(link)
    with store.engine.connect() as conn:
        raw = conn.execute(sa.select(t.google_links.c.refresh_token)).scalar_one()
    assert "CANARY" not in raw and token not in raw
    store.set_link_status("alice", LinkStatus.NEEDS_RECONNECT, "invalid_grant")
    link2 = store.get_link("alice")
    assert link2 is not None and link2.status is LinkStatus.NEEDS_RECONNECT
    assert link2.message == "invalid_grant" and link2.refresh_token == token
    assert store.linked_users() == [] and store.linked_users(None) == ["alice"]
    store.set_refresh_token("alice", "new-token")
    assert store.get_link("alice").refresh_token == "new-token"  # type: ignore[union-attr]
    store.set_link("alice", "alice@gmail.com", token, "calendar")  # reconnect: status ok again
    assert store.linked_users() == ["alice"]
    store.delete_link("alice")
    assert store.get_link("alice") is None
    with pytest.raises(UnknownUser):
        store.set_link("nobody", "n@gmail.com", token)
    with pytest.raises(UnknownUser):
        store.set_link_status("nobody", "needs_reconnect")


def test_wrong_key_is_a_clear_error(db_url: str) -> None:
    first = Store.open(db_url, "key-one")
    first.migrate()
    first.create_user("alice")
    first.set_link("alice", "a@gmail.com", "tok")
    first.close()
    second = Store.open(db_url, "key-two")
    try:
        with pytest.raises(WrongKey, match="CALSYNC_SECRET_KEY"):
            second.migrate()
        with pytest.raises(WrongKey):
            second.get_link("alice")
    finally:
        second.close()
    rotated = Store.open(db_url, "key-two,key-one")  # new key first, old one still reads
    try:
        rotated.migrate()
        assert rotated.get_link("alice").refresh_token == "tok"  # type: ignore[union-attr]
        rotated.set_setting("client_secret", "cs", secret=True)
        assert rotated.rotate_secrets() == 3  # the link, the secret, the key check
    finally:
        rotated.close()
    only_new = Store.open(db_url, "key-two")
    try:
        only_new.migrate()
        assert only_new.get_link("alice").refresh_token == "tok"  # type: ignore[union-attr]
        assert only_new.get_setting("client_secret") == "cs"
    finally:
        only_new.close()


# -- prefs and settings ------------------------------------------------------------------------


def test_prefs_default_then_saved(store: Store) -> None:
    store.create_user("alice")
    assert store.get_prefs("alice") == Prefs()
    mine = Prefs(direction=Direction.TO_GOOGLE, private=PrivateMode.BUSY, tasklist="@default")
    store.set_prefs("alice", mine)
    assert store.get_prefs("alice") == mine
    store.set_prefs("alice", mine.with_(paused=True))
    assert store.get_prefs("alice").paused
    with pytest.raises(UnknownUser):
        store.set_prefs("nobody", mine)


def test_store_refuses_prefs_out_of_their_limits(store: Store) -> None:
    """Prefs forced past their checks (the object mutated after it was made) are refused by
    the store itself, and what was saved before stays."""
    store.create_user("alice")
    mine = Prefs(days_past=3)
    store.set_prefs("alice", mine)
    bad = Prefs()
    object.__setattr__(bad, "calendars", ("c" * 70_000,))
    with pytest.raises(PrefsError, match="at most 200 characters"):
        store.set_prefs("alice", bad)
    assert store.get_prefs("alice") == mine


def test_unusable_stored_prefs_raise_prefs_error(store: Store) -> None:
    """A prefs row saved before the limits existed reads as PrefsError, never as defaults."""
    store.create_user("alice")
    with store.engine.begin() as conn:
        conn.execute(
            t.preferences.insert().values(
                user_name="alice", data={"calendars": ["c" * 70_000]}, updated_at=T0
            )
        )
    with pytest.raises(PrefsError):
        store.get_prefs("alice")


def test_settings_plain_and_secret(store: Store) -> None:
    assert store.get_setting("google_client_id") is None
    assert store.get_setting("daily_budget", "100") == "100"
    store.set_setting("google_client_id", "cid.apps")
    store.set_setting("google_client_secret", "CANARY-secret", secret=True)
    assert store.get_setting("google_client_secret") == "CANARY-secret"
    with store.engine.connect() as conn:
        raw = conn.execute(
            sa.select(t.app_settings.c.value).where(t.app_settings.c.key == "google_client_secret")
        ).scalar_one()
    assert "CANARY" not in raw
    info = {s.key: s for s in store.settings_info()}
    assert set(info) == {"google_client_id", "google_client_secret"}
    assert info["google_client_id"].value == "cid.apps"
    assert info["google_client_secret"].value is None and info["google_client_secret"].secret
    store.set_setting("google_client_id", None)
    assert store.get_setting("google_client_id") is None


# -- runs, log, conflicts ------------------------------------------------------------------------


def test_runs(store: Store) -> None:
    store.create_user("alice")
    assert store.last_run("alice") is None
    first = store.start_run("alice", T0)
    store.finish_run(first, "ok", {"created": 2}, finished_at=T0 + timedelta(seconds=5))
    second = store.start_run("alice", T0 + timedelta(minutes=5))
    last = store.last_run("alice")
    assert last is not None and last.id == second and last.status == "running"
    store.finish_run(second, "failed", error="boom", finished_at=T0 + timedelta(minutes=6))
    runs = store.runs("alice")
    assert [r.status for r in runs] == ["failed", "ok"]
    assert runs[1].counts == {"created": 2} and runs[0].error == "boom"
    assert runs[1].started_at == T0 and runs[1].finished_at == T0 + timedelta(seconds=5)
    user = store.get_user("alice")
    assert user is not None and user.last_sync_status == "failed"
    assert user.last_sync_at == T0 + timedelta(minutes=6)


def test_log_and_conflicts_newest_first(store: Store) -> None:
    for i in range(5):
        store.add_log(LogEntry("alice", T0 + timedelta(minutes=i), "create", "google", f"k{i}",
                               f"title {i}", extra={"n": i}))  # fmt: skip
    store.add_log(LogEntry("bob", T0, "delete"))
    crm = {"title": "CRM", "kind": "Event"}
    store.add_conflict(Conflict("alice", Kind.EVENT, "k1", "crm", crm, None, T0, "both edited"))
    assert store.logs("alice") == []  # staged until commit
    store.commit()
    logs = store.logs("alice", limit=3)
    assert [e.key for e in logs] == ["k4", "k3", "k2"] and logs[0].extra == {"n": 4}
    assert logs[0].at == T0 + timedelta(minutes=4) and logs[0].side == "google"
    assert [e.key for e in store.logs("alice", limit=3, offset=3)] == ["k1", "k0"]
    (conflict,) = store.conflicts("alice")
    assert conflict == Conflict("alice", Kind.EVENT, "k1", "crm", crm, None, T0, "both edited")
    assert store.conflicts("bob") == []
    assert store.prune_activity(T0 + timedelta(minutes=2)) == 4  # bob's, k0, k1 and conflict
    assert len(store.logs("alice")) == 3


# -- PairStore -----------------------------------------------------------------------------------


def test_pairs_round_trip_with_every_field(store: Store) -> None:
    full = _pair(scope="work@group", crm_etag="3", google_etag='"e1"', crm_hash="a" * 64,
                 google_hash="b" * 64, synced_at=T0, status=PairStatus.FAILED, message="oops",
                 observed="c=0123 g=4567", attempts=2)  # fmt: skip
    task = _pair("t1", kind=Kind.TASK, google_id=None)
    store.put_pair(full)
    store.put_pair(task)
    store.commit()
    assert store.pairs("alice", Kind.EVENT) == [full]
    assert store.pairs("alice", Kind.TASK) == [task]
    assert store.pairs("bob", Kind.EVENT) == []
    replaced = full.cleared(google_etag='"e2"')
    store.put_pair(replaced)
    store.commit()
    assert store.pairs("alice", Kind.EVENT) == [replaced]
    assert store.pair("alice", Kind.EVENT, "k1") == replaced
    assert store.pair_by("alice", Kind.EVENT, crm_id="crm-k1") == replaced
    assert store.pair_by("alice", Kind.EVENT, google_id="gk1") == replaced
    assert store.pair_by("alice", Kind.TASK, google_id="gk1") is None
    store.delete_pair("alice", Kind.EVENT, "k1")
    store.commit()
    assert store.pairs("alice", Kind.EVENT) == [] and store.pair("alice", Kind.EVENT, "k1") is None


def test_staged_writes_are_read_back_and_rolled_back(store: Store) -> None:
    store.put_pair(_pair("k1"))
    store.commit()
    store.put_pair(_pair("k2"))
    store.delete_pair("alice", Kind.EVENT, "k1")
    store.set_cursor("alice", "google:primary", "tok-2")
    assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["k2"]
    assert store.cursor("alice", "google:primary") == "tok-2"
    assert store.pair_by("alice", Kind.EVENT, crm_id="crm-k1") is None
    store.rollback()
    assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["k1"]
    assert store.cursor("alice", "google:primary") is None


def test_staged_writes_belong_to_their_thread(store: Store) -> None:
    store.put_pair(_pair("mine"))
    seen: list[list[Pair]] = []
    other = threading.Thread(target=lambda: seen.append(store.pairs("alice", Kind.EVENT)))
    other.start()
    other.join()
    assert seen == [[]]
    store.commit()
    other = threading.Thread(target=lambda: seen.append(store.pairs("alice", Kind.EVENT)))
    other.start()
    other.join()
    assert [p.key for p in seen[1]] == ["mine"]


def test_commit_is_durable_across_stores(db_url: str, store: Store) -> None:
    store.put_pair(_pair())
    store.set_cursor("alice", "crm:event", "42")
    store.commit()
    again = Store.open(db_url, KEY)
    try:
        assert again.pairs("alice", Kind.EVENT) == [_pair()]
        assert again.cursor("alice", "crm:event") == "42"
    finally:
        again.close()


def test_cursors_set_replace_clear_and_wipe(store: Store) -> None:
    store.set_cursor("alice", "google:primary", "a")
    store.set_cursor("alice", "crm:event", "7")
    store.set_cursor("bob", "crm:event", "9")
    store.commit()
    store.set_cursor("alice", "google:primary", "b")
    store.commit()
    assert store.cursor("alice", "google:primary") == "b"
    store.set_cursor("alice", "google:primary", None)
    store.commit()
    assert store.cursor("alice", "google:primary") is None
    assert store.wipe_cursors("alice") == 1
    assert store.cursor("alice", "crm:event") is None and store.cursor("bob", "crm:event") == "9"


def test_wipe_pairs(store: Store) -> None:
    store.put_pair(_pair("k1"))
    store.put_pair(_pair("t1", kind=Kind.TASK))
    store.put_pair(_pair("k1", user="bob"))
    store.commit()
    store.put_pair(_pair("k2"))  # staged: wiped too
    assert store.wipe_pairs("alice", Kind.TASK) == 1
    assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["k1", "k2"]
    assert store.wipe_pairs("alice") == 1
    store.commit()
    assert store.pairs("alice", Kind.EVENT) == [] and len(store.pairs("bob", Kind.EVENT)) == 1


# -- quota -----------------------------------------------------------------------------------------


def test_quota_counters(store: Store) -> None:
    day = date(2026, 3, 1)
    assert store.calls_on(day) == 0
    assert store.add_calls("alice", 3, day) == 3
    assert store.add_calls("alice", 2, day) == 5
    assert store.add_calls("bob", 1, day) == 1
    assert store.add_calls(None, 10, day) == 10
    assert store.add_calls("alice", 1, day + timedelta(days=1)) == 1
    assert store.calls_on(day, "alice") == 5
    assert store.calls_on(day, "carol") == 0
    assert store.calls_on(day) == 16


def test_quota_counters_per_api(store: Store) -> None:
    """Each API is counted apart; the totals and the per-day and per-user sums add them up."""
    day = date(2026, 3, 1)
    assert store.add_calls("alice", 4, day, "calendar") == 4
    assert store.add_calls("alice", 3, day, "tasks") == 3
    assert store.add_calls("bob", 2, day, "tasks") == 2
    assert store.add_calls(None, 1, day) == 1  # no API named: the Calendar API's
    assert store.add_calls("alice", 9, day - timedelta(days=2), "tasks") == 9
    assert store.add_calls("alice", 8, day + timedelta(days=1), "calendar") == 8
    assert store.calls_on(day, "alice", "tasks") == 3
    assert store.calls_on(day, api="tasks") == 5
    assert store.calls_on(day, api="calendar") == 5
    assert store.calls_on(day) == 10
    assert store.calls_by_day(day - timedelta(days=2), day) == {
        (day - timedelta(days=2), "tasks"): 9,
        (day, "calendar"): 5,
        (day, "tasks"): 5,
    }
    assert store.calls_by_user(day) == {
        ("alice", "calendar"): 4,
        ("alice", "tasks"): 3,
        ("bob", "tasks"): 2,
        ("", "calendar"): 1,
    }


def test_quota_counter_refuses_calls_past_a_limit(store: Store) -> None:
    """With a limit, calls that would pass it are rolled back; the count returned says what
    they would have made (a new row included)."""
    day = date(2026, 3, 1)
    assert store.add_calls("alice", 3, day, "tasks", limit=4) == 3
    assert store.add_calls("alice", 2, day, "tasks", limit=4) == 5
    assert store.add_calls("alice", 1, day, "tasks", limit=4) == 4
    assert store.add_calls("bob", 9, day, "tasks", limit=4) == 9
    assert store.calls_by_user(day) == {("alice", "tasks"): 4}
    assert store.add_calls("bob", 1, day, "tasks") == 1


def test_quota_counter_under_concurrent_threads_never_passes_a_limit(store: Store) -> None:
    day = date(2026, 3, 2)
    added: list[int] = []

    def work() -> None:
        for _ in range(10):
            if store.add_calls("alice", 1, day, limit=30) <= 30:
                added.append(1)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert store.calls_on(day, "alice") == len(added) == 30


def test_quota_counter_under_concurrent_threads(store: Store) -> None:
    day = date(2026, 3, 2)
    workers, each = 8, 25

    def work() -> None:
        for _ in range(each):
            store.add_calls("alice", 1, day)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert store.calls_on(day, "alice") == workers * each


def test_settings_are_read_at_once_and_at_most_every_refresh(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round asks for several settings, several times: one read serves them for
    SETTINGS_REFRESH seconds. What this store saves applies at once; what another process
    saves, after the refresh."""
    monkeypatch.setattr(accounts_module, "SETTINGS_REFRESH", 3600.0)
    other = Store.open(db_url, KEY)
    try:
        store.set_setting("google_client_id", "one")
        reads: list[str] = []
        sa.event.listen(
            store.engine,
            "before_cursor_execute",
            lambda _c, _cur, stmt, *a: reads.append(stmt) if "app_settings" in stmt else None,
        )
        for _ in range(5):
            assert store.get_setting("google_client_id") == "one"
            assert store.get_setting("daily_budget", "7") == "7"
        assert len(reads) == 1
        other.set_setting("google_client_id", "two")
        assert store.get_setting("google_client_id") == "one"  # within the refresh
        monkeypatch.setattr(accounts_module, "SETTINGS_REFRESH", 0.0)
        assert store.get_setting("google_client_id") == "two"
        monkeypatch.setattr(accounts_module, "SETTINGS_REFRESH", 3600.0)
        store.set_setting("google_client_id", "three")
        assert store.get_setting("google_client_id") == "three"  # its own save: at once
        store.set_setting("google_client_id", None)
        assert store.get_setting("google_client_id") is None
    finally:
        other.close()


def test_open_with_a_key_file_and_from_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'calsync.db'}"
    with Store.open(url, tmp_path / "data") as s:
        s.migrate()
        s.create_user("alice")
        s.set_link("alice", "a@gmail.com", "tok")
    assert (tmp_path / "data" / "secret.key").is_file()
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    with Store.from_settings(settings) as s:
        s.migrate()
        assert s.get_link("alice").refresh_token == "tok"  # type: ignore[union-attr]
    wrong = settings.model_copy(update={"secret_key": SecretStr("x")})
    with Store.from_settings(wrong) as s, pytest.raises(WrongKey):
        s.migrate()


def test_naive_times_are_refused(store: Store) -> None:
    store.put_pair(_pair(synced_at=datetime(2026, 1, 1)))
    with pytest.raises(sa.exc.StatementError, match="naive"):
        store.commit()
    store.rollback()


def test_quota_day_defaults_to_googles_pacific_day(db_url: str) -> None:
    s = Store.open(db_url, KEY, now=lambda: datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    try:
        s.migrate()
        s.add_calls("alice", 4)
        assert s.calls_on(date(2026, 3, 1), "alice") == 4
        assert s.calls_on(date(2026, 3, 2)) == 0
    finally:
        s.close()


def test_setting_keys_are_plain_strings(store: Store) -> None:
    store.set_setting(
        SettingKey.GOOGLE_CLIENT_SECRET, "s", secret=SettingKey.GOOGLE_CLIENT_SECRET.secret
    )
    assert store.get_setting("google_client_secret") == "s"
    assert store.settings_info()[0].secret


def test_pairs_touching_reads_only_what_a_round_names(store: Store) -> None:
    """An incremental round asks for the pairs its listings name (by CRM id, Google id or
    key, in any calendar), and gets the dirty and id-less ones besides; staged writes count."""
    store.put_pair(_pair("a"))
    store.put_pair(_pair("b"))
    store.put_pair(_pair("c"))
    store.put_pair(_pair("d", status=PairStatus.FAILED, attempts=1))
    store.put_pair(_pair("e", google_id=None, status=PairStatus.PENDING))
    store.put_pair(_pair("f"))
    store.put_pair(_pair("x", scope="work"))
    store.put_pair(_pair("y", scope="work"))
    store.commit()

    def keys(touching: Touching) -> list[str]:
        return [p.key for p in store.pairs_touching("alice", Kind.EVENT, touching)]

    touching = Touching(crm_ids=frozenset({"crm-a"}), google_ids=frozenset({"gb", "gx"}))
    assert keys(touching) == ["a", "b", "d", "e", "x"]
    assert keys(Touching(keys=frozenset({"c", "y"}))) == ["c", "d", "e", "y"]
    assert keys(Touching()) == ["d", "e"]
    assert store.count_pairs("alice", Kind.EVENT, "primary") == 6
    store.delete_pair("alice", Kind.EVENT, "a")
    store.put_pair(_pair("g", status=PairStatus.FAILED))
    store.put_pair(_pair("d"))  # its retry succeeded: no longer dirty
    assert keys(touching) == ["b", "e", "g", "x"]
    assert store.count_pairs("alice", Kind.EVENT, "primary") == 6
    assert store.crm_ids_by_scope("alice", Kind.EVENT) == {
        "primary": {"crm-b", "crm-c", "crm-d", "crm-e", "crm-f", "crm-g"},
        "work": {"crm-x", "crm-y"},
    }
    assert store.crm_ids_by_scope("alice", Kind.EVENT, besides="primary") == {
        "work": {"crm-x", "crm-y"}
    }
    store.rollback()


def test_a_round_reads_its_cursors_once_and_writes_only_changed_ones(store: Store) -> None:
    store.upsert_user("alice", crm_id="1", email="a@example.com")
    store.set_cursor("alice", "crm:event:primary", "7")
    store.set_cursor("alice", "google:event:primary", "t1")
    store.commit()
    selects: list[str] = []

    def on(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM cursors" in statement:
            selects.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", on)
    try:
        with store.user_lock("alice"):
            assert store.cursor("alice", "crm:event:primary") == "7"
            assert store.cursor("alice", "google:event:primary") == "t1"
            assert store.cursor("alice", "engine:event:primary:prefs") is None
            store.set_cursor("alice", "crm:event:primary", "7")  # unchanged: nothing to write
            store.commit()
            store.set_cursor("alice", "google:event:primary", "t2")
            store.commit()
            assert store.cursor("alice", "google:event:primary") == "t2"
        assert len(selects) == 1
        assert store.cursor("alice", "google:event:primary") == "t2"  # outside: the database
        assert len(selects) == 2
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", on)


def test_an_in_memory_store_is_not_shared_between_threads(tmp_path: Path) -> None:
    """Rounds run in threads only where each thread gets a connection of its own."""
    with (
        Store.open("sqlite://", KEY) as memory,
        Store.open(f"sqlite:///{tmp_path / 's.db'}", KEY) as on_disk,
    ):
        assert not memory.parallel_safe
        assert on_disk.parallel_safe


def test_the_kept_google_copy_is_read_only_where_asked_and_kept_by_rows_without_one(
    store: Store,
) -> None:
    """Pairs are listed without Google's copy (an idle round decodes none); `google_copies`
    returns it, and a row written without one keeps the copy stored."""
    from calsync.model import Event, When, content_hash

    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    copy = Event("Standup", When(start, start + timedelta(minutes=15), "Europe/Rome"))
    store.put_pair(_pair("k1", google_hash=content_hash(copy), google_item=copy))
    store.put_pair(_pair("k2"))
    assert store.google_copies("alice", Kind.EVENT, ["k1"]) == {"k1": copy}  # staged
    store.commit()
    listed = store.pairs("alice", Kind.EVENT)
    assert [p.google_item for p in listed] == [None, None]
    assert store.google_copies("alice", Kind.EVENT, ["k1", "k2", "k3"]) == {"k1": copy}
    store.put_pair(listed[0].with_(crm_etag="e2"))
    store.commit()
    assert store.google_copies("alice", Kind.EVENT, ["k1"]) == {"k1": copy}
