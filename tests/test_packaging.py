"""pyproject lists every subpackage, so wheels and frozen builds contain all the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOT_FOLDERS = ("app", "core", "io", "rendering", "resources")


def test_every_package_folder_is_listed_and_mapped() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        "cbctviewer." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ROOT_FOLDERS
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found <= set(config["packages"]), sorted(found - set(config["packages"]))
    for package in config["packages"]:
        folder = config["package-dir"][package]
        assert (ROOT / folder / "__init__.py").is_file(), package
        assert "cbctviewer." + folder.replace("/", ".") == package


def test_console_script_points_at_the_cli() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["cbct-viewer"] == "cbctviewer.app.cli:main"
