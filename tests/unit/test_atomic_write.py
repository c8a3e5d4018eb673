"""Every file the harness writes goes through a private temp name; no write follows a planted symlink."""

from __future__ import annotations

import os

from battle.common.atomic import write_text_atomic
from battle.common.jsonl import write_json_atomic
from battle.report.htmlkit import write_text_atomic as write_report


def test_a_symlink_planted_at_the_old_fixed_temp_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in ("report.html", "manifest.json", "verdict.json"):
        os.symlink(victim, tmp_path / f".{name}.tmp")
    write_report(tmp_path / "report.html", "<html></html>")
    write_json_atomic(tmp_path / "manifest.json", {"a": 1})
    write_text_atomic(tmp_path / "verdict.json", "{}")
    assert victim.read_text() == "precious"
    assert (tmp_path / "report.html").read_text() == "<html></html>"


def test_a_symlink_at_the_destination_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "report.html")
    write_report(tmp_path / "report.html", "new")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "report.html").is_symlink() and (tmp_path / "report.html").read_text() == "new"


def test_no_temp_file_is_left_behind(tmp_path):
    write_text_atomic(tmp_path / "x.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
