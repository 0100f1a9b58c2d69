"""Faults around the bot (a missing mailbox folder, a full disk) end `supportbot run --once` with one
clear line and a non-zero exit, and lose nothing: the mail stays unseen and is handled once all is well."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import of_kind, write_config
from tests.integration.test_intake_dovecot import json_lines, supportbot
from tests.support import mailgen


def _one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]


def test_a_missing_folder_ends_in_one_line(tmp_path, dovecot, smtp):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 folder="No such folder")
    dovecot.append(mailgen.request(1))
    _one_clear_line(supportbot(config, "run", "--once", check=False), "mailbox error")
    assert dovecot.uids() == [1]            # still there


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (tmpfs), to be filled up."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    try:
        with open(filler, "wb", buffering=0) as out:
            while True:
                out.write(b"\0" * 4096)
    except OSError:   # no space left on device: full
        pass
    return filler


def test_a_full_disk_ends_in_one_line_and_loses_nothing(tmp_path, dovecot, smtp, small_disk):
    config = tmp_path / "cfg.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{small_disk / 'bot.db'}")
    supportbot(config, "init")
    for n in range(20):
        dovecot.append(mailgen.request(n))
    filler = _fill(small_disk)

    _one_clear_line(supportbot(config, "run", "--once", check=False), "database error")
    assert all("\\Seen" not in flags for flags in dovecot.flags().values())     # nothing taken
    assert not smtp.received

    filler.unlink()
    supportbot(config, "run", "--once")
    assert len(json_lines(supportbot(config, "tickets", "list", "--json").stdout)) == 20
    assert len(of_kind(smtp.received)) == 20
