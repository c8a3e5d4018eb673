"""The inputs of the image bootstrap: which Debian mirror it debootstraps from,
and which requirements go into the wheelhouse."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MIRROR_SCRIPT = REPO / "docker" / "scripts" / "debian_mirror.sh"
REQUIREMENTS_SCRIPT = REPO / "docker" / "scripts" / "requirements.py"


def mirror_for(apt_etc: pathlib.Path, suite: str = "bookworm") -> str:
    done = subprocess.run(
        ["sh", str(MIRROR_SCRIPT), suite, str(apt_etc)],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout.strip()


@pytest.fixture
def apt_etc(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_picks_the_main_suite_not_security_or_updates(apt_etc: pathlib.Path) -> None:
    (apt_etc / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n"
        "URIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "\n"
        "# the archive\n"
        "Types: deb-src deb\n"
        "URIs: http://mirror.example/debian/ http://second.example/debian\n"
        "Suites: bookworm-updates bookworm\n"
        "Components: main\n"
    )

    assert mirror_for(apt_etc) == "http://mirror.example/debian"
    assert mirror_for(apt_etc, "bookworm-security") == "http://security.example/debian-security"


def test_deb822_skips_disabled_and_source_only_stanzas(apt_etc: pathlib.Path) -> None:
    (apt_etc / "sources.list.d" / "a.sources").write_text(
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: https://on.example/debian\nSuites: bookworm\n"
    )

    assert mirror_for(apt_etc) == "https://on.example/debian"


def test_one_line_format_with_options_and_sources_list_first(apt_etc: pathlib.Path) -> None:
    (apt_etc / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://local.example/debian bookworm main\n"
    )
    (apt_etc / "sources.list.d" / "b.sources").write_text(
        "Types: deb\nURIs: http://later.example/debian\nSuites: bookworm\n"
    )

    assert mirror_for(apt_etc) == "http://local.example/debian"


def test_files_with_other_endings_and_unusable_schemes_are_ignored(apt_etc: pathlib.Path) -> None:
    (apt_etc / "sources.list.d" / "old.list.disabled").write_text(
        "deb http://disabled.example/debian bookworm main\n"
    )
    (apt_etc / "sources.list.d" / "cd.list").write_text("deb cdrom:[Debian]/ bookworm main\n")

    assert mirror_for(apt_etc) == "http://deb.debian.org/debian"


def test_no_sources_at_all_falls_back_to_deb_debian_org(tmp_path: pathlib.Path) -> None:
    assert mirror_for(tmp_path / "missing") == "http://deb.debian.org/debian"


def test_requirements_are_runtime_deps_then_build_backend_without_dev_extras(tmp_path: pathlib.Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[build-system]\nrequires = ["setuptools>=68", "flask>=3"]\n'
        '[project]\nname = "x"\ndependencies = ["flask>=3", "numpy<3"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
    )

    done = subprocess.run(
        [sys.executable, str(REQUIREMENTS_SCRIPT), str(pyproject)], capture_output=True, text=True, check=True
    )

    assert done.stdout.splitlines() == ["flask>=3", "numpy<3", "setuptools>=68"]
