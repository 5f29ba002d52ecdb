"""The README's example runs as written, and its set-up section has exactly two commands."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    setup = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(commands) == 2
    assert "pyspark-synth demo" in commands[0] and "pytest" in commands[1]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_readme_example_runs(spark, capsys):
    (code,) = _blocks("python")
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    # the explain output the README shows is what the example prints
    shown = re.search(r"```\n(\d+ tables, generated in this order:.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert shown is not None and shown.group(1).strip() in capsys.readouterr().out
