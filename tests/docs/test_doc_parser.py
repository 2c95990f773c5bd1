"""The doc-block parser: fences, the skip marker, console commands."""

from __future__ import annotations

from pathlib import Path

from tests.docs.doc_blocks import REPO, SHELL_LANGUAGES, all_blocks, parse_blocks

SAMPLE = """# Title

<!-- doc-test: skip: needs real AWS -->
```bash
aws s3 ls
```

```console
$ mwaa-extras run env -- dags list \\
    -o json
dag_id | ...
$ mwaa-extras --version
mwaa-extras 0.1.0
```

<!-- doc-test: skip: not right before the fence -->

```python
import os
```
"""


def test_marker_applies_only_right_before_the_fence(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(SAMPLE)
    blocks = parse_blocks(path)
    assert [(b.lang, b.line, b.skip) for b in blocks] == [
        ("bash", 4, "needs real AWS"),
        ("console", 8, None),
        ("python", 18, None),
    ]


def test_console_commands_keep_continuations_and_drop_output(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(SAMPLE)
    console = parse_blocks(path)[1]
    assert console.script() == "mwaa-extras run env -- dags list \\\n    -o json\nmwaa-extras --version\n"


def test_the_docs_have_shell_blocks() -> None:
    # A parser that finds nothing would make every doc test pass.
    assert len(all_blocks(SHELL_LANGUAGES)) >= 10


def test_docs_count_and_name_every_plugin() -> None:
    # README and docs/plugins.md said "three plugins" while four were registered.
    from airflow_mwaa_extras.plugin_classes import PLUGINS

    words = {3: "three", 4: "four", 5: "five", 6: "six"}
    readme = (REPO / "README.md").read_text()
    plugins_doc = (REPO / "docs" / "plugins.md").read_text()
    assert f"registers {words[len(PLUGINS)]} plugins" in readme
    assert f"{words[len(PLUGINS)].capitalize()} Airflow plugins" in plugins_doc
    for name in PLUGINS:
        assert f"`mwaa_extras_{name}`" in plugins_doc, name
