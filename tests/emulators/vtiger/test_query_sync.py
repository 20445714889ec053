"""VTQL queries and the `sync` change feed of the emulator."""

from __future__ import annotations

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from tests.emulators.vtiger.conftest import Ws, event


def _seed(ws: Ws, owner: str, n: int) -> list[dict[str, object]]:
    return [ws.create(**event(owner, subject=f"E{i:03d}", location=f"L{i % 3}")) for i in range(n)]


def test_query_clamps_to_100_and_pages_with_offset(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    _seed(ws, alice.id, 130)
    assert len(ws.query("SELECT * FROM Events;")) == 100
    assert len(ws.query("SELECT * FROM Events LIMIT 500;")) == 100
    page2 = ws.query("SELECT subject FROM Events ORDER BY subject LIMIT 100,500;")
    assert [r["subject"] for r in page2] == [f"E{i:03d}" for i in range(100, 130)]
    assert set(page2[0]) == {"subject", "id"}


def test_where_operators(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    _seed(ws, alice.id, 9)
    q = ws.query
    assert len(q("SELECT * FROM Events WHERE location = 'L1';")) == 3
    assert len(q("SELECT * FROM Events WHERE location != 'L1';")) == 6
    assert len(q("SELECT * FROM Events WHERE location IN ('L0','L2');")) == 6
    assert len(q("SELECT * FROM Events WHERE subject LIKE 'e00%';")) == 9
    assert len(q("SELECT * FROM Events WHERE subject >= 'E005' AND location = 'L0';")) == 1
    assert len(q("SELECT * FROM Events WHERE subject < 'E002' OR subject > 'E007';")) == 3
    desc = q("SELECT subject FROM Events ORDER BY subject DESC LIMIT 2;")
    assert [r["subject"] for r in desc] == ["E008", "E007"]
    assert q("SELECT count(*) FROM Events;") == []  # what vtiger 8.4 answered


def test_query_values_differ_from_retrieve(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id))
    row = ws.query(f"SELECT * FROM Events WHERE id = '{rec['id']}';")[0]
    assert row["parent_id"] is None and rec["parent_id"] == ""


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELECT * FROM Events", "QUERY_SYNTAX_ERROR", "expected one of: SEMICOLON"),
        ("SELEC * FRM Events;", "ACCESS_DENIED", "denied for query"),
        ("SELECT nosuchfield FROM Events;", "ACCESS_DENIED", "'.nosuchfield.' attribute denied."),
    ],
)
def test_query_errors(
    vt: VtigerEmulator, alice: EmulatedUser, query: str, code: str, message: str
) -> None:
    answer = Ws(vt, alice).get("query", query=query)
    assert answer["error"]["code"] == code and message in answer["error"]["message"]


def test_non_admin_query_hides_others_private(
    vt: VtigerEmulator, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    Ws(vt, alice).create(**event(alice.id, visibility="Private"))
    Ws(vt, alice).create(**event(alice.id, subject="Open"))
    assert [r["subject"] for r in Ws(vt, bob).query("SELECT * FROM Events;")] == ["Open"]


def test_sync_returns_own_changes_and_deletions(
    vt: VtigerEmulator, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    """With --php7 `sync` works: the user's own changes and deletions, tie-safe."""
    vt.set_php8(False)
    ws = Ws(vt, alice)
    start = vt.advance(0)
    keep, gone = ws.create(**event(alice.id)), ws.create(**event(alice.id))
    Ws(vt, bob).create(**event(bob.id))
    vt.advance(5)
    ws.ok("POST", "delete", id=gone["id"])
    res = ws.ok("GET", "sync", modifiedTime=start - 1, elementType="Events")
    assert [r["id"] for r in res["updated"]] == [keep["id"]]
    assert res["deleted"] == [gone["id"]] and res["more"] is False
    assert res["lastModifiedTime"] == start + 5
    again = ws.ok("GET", "sync", modifiedTime=res["lastModifiedTime"], elementType="Events")
    assert again["deleted"] == [gone["id"]]  # tie-safe: the cursor's second comes again


def test_sync_batches_by_100_without_losing_ties(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    vt.set_php8(False)
    ws = Ws(vt, alice)
    created = _seed(ws, alice.id, 150)  # most share one second
    seen: set[str] = set()
    cursor, rounds = 0, 0
    while True:
        res = ws.ok("GET", "sync", modifiedTime=cursor, elementType="Events")
        seen |= {r["id"] for r in res["updated"]}
        rounds += 1
        if not res["more"]:
            break
        assert res["lastModifiedTime"] > cursor
        cursor = res["lastModifiedTime"]
    assert seen == {r["id"] for r in created}
    assert rounds < 10


def test_application_sync_is_admin_only(
    vt: VtigerEmulator, alice: EmulatedUser, bob: EmulatedUser, admin: EmulatedUser
) -> None:
    vt.set_php8(False)
    Ws(vt, alice).create(**event(alice.id))
    Ws(vt, bob).create(**event(bob.id))
    params = {"modifiedTime": 0, "elementType": "Events", "syncType": "application"}
    assert Ws(vt, alice).get("sync", **params)["error"]["code"] == "ACCESS_DENIED"
    assert len(Ws(vt, admin).ok("GET", "sync", **params)["updated"]) == 2


def test_sync_on_php8_is_http_500_with_empty_body(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """By default, as vtiger 8.4 on PHP 8: `sync` dies (HTTP 500, empty body), nothing else."""
    ws = Ws(vt, alice)
    resp = ws.raw("GET", "sync", modifiedTime=0, elementType="Events")
    assert resp.status_code == 500 and resp.content == b""
    assert ws.get("listtypes")["success"]
