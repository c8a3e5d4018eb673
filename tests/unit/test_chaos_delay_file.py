"""The PLC simulator's runtime delay source (sut/plcsim/delay_file.py): file beats default, re-read at most 1/s."""

from __future__ import annotations

from sut.plcsim.delay_file import DelaySource


class Clock:
    t = 100.0

    def __call__(self) -> float:
        return self.t


def test_missing_file_gives_the_startup_default(tmp_path):
    assert DelaySource(tmp_path / "d", 40, Clock()).current_ms() == 40
    assert DelaySource(None, 7, Clock()).current_ms() == 7


def test_file_value_wins_and_is_reread_at_most_once_a_second(tmp_path):
    path, clock = tmp_path / "plc_delay_ms", Clock()
    source = DelaySource(path, 0, clock)
    assert source.current_ms() == 0
    path.write_text("250")
    clock.t += 0.5
    assert source.current_ms() == 0  # cached: the file is not read on every request
    clock.t += 0.5
    assert source.current_ms() == 250 and source.value == 0.25
    path.unlink()
    clock.t += 1.0
    assert source.current_ms() == 0  # restore = remove the file


def test_malformed_file_falls_back_to_default_and_is_noted(tmp_path):
    path, clock = tmp_path / "plc_delay_ms", Clock()
    for text in ("lots", "-5", "inf", "nan"):
        path.write_text(text)
        clock.t += 1.0
        source = DelaySource(path, 15, clock)
        assert source.current_ms() == 15, text
        assert source.last_problem and text in source.last_problem
