"""A setting calsync cannot use ends any command with one line on stderr and exit status 2,
never a traceback: bad values, a malformed calsync.toml, a database that does not open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def calsync(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """Run the `calsync` command as a user would, with only `env` as its configuration."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
    clean.update(PYTHONPATH=str(ROOT), CALSYNC_DATA_DIR=str(cwd / "data"), **env)
    return subprocess.run(
        [sys.executable, "-c", "from calsync.cli.app import main; main()", *argv],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


CASES = {
    "crm-foo": ({"CALSYNC_CRM": "foo"}, "CALSYNC_CRM: Input should be 'local' or 'vtiger'"),
    "budget-text": ({"CALSYNC_GOOGLE_DAILY_BUDGET": "lots"}, "CALSYNC_GOOGLE_DAILY_BUDGET"),
    "db-url-unparsable": ({"CALSYNC_DATABASE_URL": "nonsense"}, "CALSYNC_DATABASE_URL is not"),
    "db-url-unknown-dialect": ({"CALSYNC_DATABASE_URL": "foo://x/y"}, "CALSYNC_DATABASE_URL"),
    "db-refuses": (
        {"CALSYNC_DATABASE_URL": "postgresql+psycopg://calsync:hunter2@127.0.0.1:1/x"},
        "cannot open the database postgresql+psycopg://calsync:***@127.0.0.1:1/x",
    ),
    "crm-url-unparsable": ({"CALSYNC_LOCAL_CRM_URL": "zzz"}, "CALSYNC_LOCAL_CRM_URL is not"),
    "vtiger-half-set": ({"CALSYNC_CRM": "vtiger"}, "needs CALSYNC_VTIGER_URL"),
    "config-missing": ({"CALSYNC_CONFIG": "/nonexistent/calsync.toml"}, "CALSYNC_CONFIG names"),
    "toml-malformed": ({}, "cannot read"),
}


@pytest.mark.parametrize("argv", [["sync", "--all"], ["users", "list"]], ids=["sync", "list"])
@pytest.mark.parametrize("case", list(CASES))
def test_unusable_setting_is_one_line_and_exit_2(
    tmp_path: Path, case: str, argv: list[str]
) -> None:
    env, message = CASES[case]
    if case == "toml-malformed":
        (tmp_path / "calsync.toml").write_text('crm = "local\ndatabase_url = \n')
    done = calsync(tmp_path, env, *argv)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_wrong_secret_key_is_one_line(tmp_path: Path) -> None:
    """The database was made with one key; started with another, calsync says so and stops."""
    assert calsync(tmp_path, {"CALSYNC_SECRET_KEY": "first"}, "users", "list").returncode == 0
    done = calsync(tmp_path, {"CALSYNC_SECRET_KEY": "second"}, "users", "list")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot be decrypted with the configured key" in done.stderr
