from __future__ import annotations

from airflow_mwaa_extras.deploy.requirements_file import parse_requirements, requirement_names


def test_continuation_lines_join_and_keep_the_first_line_number() -> None:
    text = "# header\n--index-url \\\n  https://pypi.example.com/simple\nmy-lib \\\n  ==1.0  # pinned\n"
    lines = parse_requirements(text)
    assert [(line.lineno, line.text.split()) for line in lines] == [
        (2, ["--index-url", "https://pypi.example.com/simple"]),
        (4, ["my-lib", "==1.0"]),
    ]
    assert lines[0].is_option
    assert lines[0].requirement is None
    assert lines[1].requirement is not None
    assert str(lines[1].requirement.specifier) == "==1.0"


def test_bad_line_keeps_pips_reason() -> None:
    (line,) = parse_requirements("not a requirement!\n")
    assert line.requirement is None
    assert line.error


def test_requirement_names_follow_continuations_and_skip_options() -> None:
    # The plugins.zip check once read this file line by line and missed the continued name.
    text = "--constraint x\nFancy_Lib \\\n  ==1.0\nother==2 --hash=sha256:abc\n-e ./local\nbad line!\n"
    assert requirement_names(text) == {"fancy-lib", "other"}
