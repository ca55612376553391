"""Assertions shared by the CLI tests."""

from __future__ import annotations


def assert_one_line_error(result, exit_code: int, error_code: str) -> None:
    """The CLI's one error shape: ``Error: <CODE>: <message>``, one line on stderr, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert result.stderr.startswith(f"Error: {error_code}: "), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""
