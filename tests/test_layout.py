"""The deployable package holds what production runs: it imports nothing of the dev stack, and the image
installs the runtime requirements only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCTION = [REPO / "include" / "pulse", REPO / "spark_jobs", REPO / "dags", REPO / "plugins"]
DEV_ONLY_MODULES = ("devstack", "tests", "bench")
DEV_ONLY_PACKAGES = {"pgserver", "playwright", "pytest", "pytest-timeout", "openapi-schema-validator", "duckdb",
                     "ruff"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", [p for root in PRODUCTION for p in sorted(root.rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_production_code_never_imports_the_dev_stack_tests_or_the_bench(path):
    dev = sorted(m for m in imported_modules(path) if m.split(".")[0] in DEV_ONLY_MODULES)
    assert dev == [], f"{path.relative_to(REPO)} imports {dev}"


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>\[ ;]", line, maxsplit=1)[0].lower())
    return names


def test_the_runtime_requirements_hold_no_development_tool_and_the_dev_set_adds_them():
    runtime = requirement_names(REPO / "requirements.txt")
    assert runtime & DEV_ONLY_PACKAGES == set()
    dev = REPO / "requirements-dev.txt"
    assert "-r requirements.txt" in dev.read_text().splitlines()
    assert DEV_ONLY_PACKAGES <= requirement_names(dev)


def test_the_image_installs_the_runtime_requirements_alone():
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (\S+)", dockerfile, flags=re.MULTILINE)
    assert [c for c in copied if c.startswith("requirements")] == ["requirements.txt"]
    assert "requirements-dev" not in dockerfile


@pytest.mark.parametrize("path", [p for root in PRODUCTION for p in sorted(root.rglob("*.py"))
                                  if p != REPO / "include" / "pulse" / "config.py"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_only_pulse_config_reads_the_environment(path):
    text = path.read_text()
    assert "os.environ" not in text and "getenv" not in text, (
        f"{path.relative_to(REPO)} reads the environment: read the setting in include/pulse/config.py")
