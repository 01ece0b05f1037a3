"""One version and one licence statement everywhere (issue 13; CONTRIBUTING.md, "Releasing")."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def project_version():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_citation_file_carries_the_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == project_version()
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}


def test_changelog_has_an_entry_for_the_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    heads = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.MULTILINE)
    assert any(project_version() in name + rest for name, rest in heads), (
        f"CHANGELOG.md has no heading for version {project_version()}")


def test_licences_are_stated_in_readme_and_footer():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "Attribution 4.0 International Public License" in (ROOT / "LICENSE-CONTENT").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "LICENSE-CONTENT" in readme and "(LICENSE)" in readme
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "MIT" in footer
    assert f"Version {project_version()}" in footer
