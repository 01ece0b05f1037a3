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


def test_package_reports_the_project_version():
    import cosim_helpers

    assert cosim_helpers.__version__ == project_version()


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


def released_versions(text):
    """Versions with a dated CHANGELOG heading, ``## [X.Y.Z] - YYYY-MM-DD`` (tagged vX.Y.Z)."""
    found = re.findall(r"^## \[(\d+)\.(\d+)\.(\d+)\] - \d{4}-\d{2}-\d{2}\s*$", text, flags=re.MULTILINE)
    return sorted(tuple(int(x) for x in v) for v in found)


def test_colab_installs_the_newest_release():
    """Colab pins the newest release; before the first one, the version being released."""
    tag = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["release_tag"]
    released = released_versions((ROOT / "CHANGELOG.md").read_text())
    expected = ".".join(map(str, released[-1])) if released else project_version()
    assert tag == f"v{expected}", (
        f"_config.yml repository.release_tag is {tag}; set it to v{expected} and run `make reader` "
        "(CONTRIBUTING.md, 'Releasing')")


def test_released_versions_are_read_from_dated_headings():
    text = "## [Unreleased]: 0.11.0\n\n## [0.3.0] - 2027-01-02\n\n## [0.10.1] - 2027-03-04\n\n## [0.1.0]\n"
    assert released_versions(text) == [(0, 3, 0), (0, 10, 1)]
