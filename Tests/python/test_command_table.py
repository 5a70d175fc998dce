"""COMMAND's description of Rill's command table."""

import pytest

from support import unparsed


@pytest.mark.rill_only
def test_command_table_describes_the_new_commands(r):
    info = {entry[0]: entry for entry in unparsed(r, "COMMAND", "INFO", "XNACK", "XCFGSET", "XIDMPRECORD")}
    assert info["xnack"][1:6] == [-7, ["write", "fast"], 1, 1, 1]
    assert info["xcfgset"][1:6] == [-2, ["write", "fast"], 1, 1, 1]
    assert info["xidmprecord"][1:6] == [5, ["write", "denyoom", "fast"], 1, 1, 1]
    names = set(unparsed(r, "COMMAND", "LIST"))
    assert {"xnack", "xcfgset", "xidmprecord"} <= names
    assert unparsed(r, "COMMAND", "COUNT") == len([name for name in names if "|" not in name])
