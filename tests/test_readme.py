"""The README says what the code does: its settings table, reason codes and default detectors
are held against the code here, so neither can drift from the other."""

from __future__ import annotations

import re
from pathlib import Path

from claimwatch.detectors.ensemble import DEFAULT_DETECTORS, DETECTORS
from claimwatch.detectors.rules import RULES
from claimwatch.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def table_rows(first_header: str) -> list[list[str]]:
    """Cells of the markdown table whose header starts with ``| first_header |``."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_settings_table_matches_the_settings_class():
    documented = {row[0].strip("`"): row for row in table_rows("setting")}
    fields = Settings.model_fields
    assert set(documented) == {f"CLAIMWATCH_{name.upper()}" for name in fields}
    for name, field in fields.items():
        default = documented[f"CLAIMWATCH_{name.upper()}"][1]
        expected = "—" if field.default is None else f"`{field.default}`"
        assert default == expected, name


def test_env_example_names_only_real_settings_with_their_defaults():
    fields = Settings.model_fields
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"#?\s*CLAIMWATCH_(\w+)=(.*)", line)
        if not match:
            continue
        name, value = match.group(1).lower(), match.group(2)
        assert name in fields, line
        default = fields[name].default
        if not line.startswith("#") and default is not None:
            assert value.lower() == str(default).lower(), line


def test_reason_code_table_lists_every_rule_and_nothing_else():
    # a row may document several codes: `CODE_A`, `CODE_B`
    documented = {code for row in table_rows("reason code") for code in re.findall(r"`(\w+)`", row[0])}
    assert documented == set(RULES)


def test_default_detectors_are_the_ones_the_readme_names():
    match = re.search(r"default detectors: ((?:`\w+`,? ?)+)", README)
    assert match, "the README names the default detectors"
    assert tuple(re.findall(r"`(\w+)`", match.group(1))) == DEFAULT_DETECTORS
    assert set(DEFAULT_DETECTORS) <= set(DETECTORS)


def test_ci_runs_the_readme_test_command():
    setup = README[README.index("## Set-up: two commands") :]
    test_line = next(line for line in setup.splitlines() if line.rstrip().endswith("(what .ci/run runs)"))
    command = test_line.split("#")[0].strip()
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
