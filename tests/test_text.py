"""Marked messages with values read as English and translate with their values."""

from __future__ import annotations

from calsync.passwords import password_problem
from calsync.prefs import PrefsError, parse_days
from calsync.text import N_, Text

_IT = {
    "bad %(what)s %(value)s: expected %(minimum)d to %(maximum)d days": (
        "%(what)s: %(value)s non va bene, servono da %(minimum)d a %(maximum)d giorni"
    ),
    "days back": "giorni nel passato",
}


def test_a_message_with_values_is_english_text_that_keeps_its_template() -> None:
    """`N_` with values gives the English message (what the CLI prints), and the web
    translates its template and the values that are marked, not what the user typed."""
    message = N_("bad %(what)s %(value)s", what=Text("days back"), value="'days back'")
    assert message == "bad days back 'days back'"
    assert isinstance(message, str)
    assert isinstance(message, Text) and message.template == "bad %(what)s %(value)s"
    italian = message.translated(
        lambda s: {"bad %(what)s %(value)s": "%(what)s: %(value)s"}.get(s, _IT.get(s, s))
    )
    assert italian == "giorni nel passato: 'days back'"
    assert N_("plain") == "plain" and type(N_("plain")) is str


def test_a_prefs_error_is_english_and_translatable() -> None:
    """The one validation of preferences says it in English (CLI) and marked (web)."""
    try:
        parse_days("-1", "days back", 0)
    except PrefsError as err:
        assert str(err) == "bad days back -1: expected 0 to 3650 days"
        assert isinstance(err.message, Text)
        assert err.message.translated(lambda s: _IT.get(s, s)) == (
            "giorni nel passato: -1 non va bene, servono da 0 a 3650 giorni"
        )
    else:
        raise AssertionError("-1 days back was accepted")


def test_the_password_policy_reads_as_english() -> None:
    assert password_problem("short") == "Use at least 10 characters."
    assert isinstance(password_problem("short"), Text)
