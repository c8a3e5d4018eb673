"""Print what the images must install from the wheelhouse, one requirement a line.

That is the project's runtime dependencies plus its build-system requirements:
the images install the project itself with --no-build-isolation (there is no
index to fetch a build backend from), so the backend must come from the
wheelhouse too. Development extras are left out.

    python3 docker/scripts/requirements.py pyproject.toml
"""

import sys
import tomllib


def requirements(pyproject: dict) -> list[str]:
    runtime = pyproject.get("project", {}).get("dependencies", [])
    build = pyproject.get("build-system", {}).get("requires", [])
    ordered = []
    for requirement in [*runtime, *build]:
        if requirement not in ordered:
            ordered.append(requirement)
    return ordered


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: requirements.py PYPROJECT_TOML", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as handle:
        pyproject = tomllib.load(handle)
    for requirement in requirements(pyproject):
        print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
