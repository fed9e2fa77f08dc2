"""Exported JSON Schemas match the committed ones (drift check); protocol imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from protocol.schemas import message_schemas

ROOT = Path(__file__).parents[2]
SCHEMA_DIR = ROOT / "docs" / "protocol" / "v1"
FIXTURES = ROOT / "tests" / "fixtures" / "protocol" / "v1"


def test_committed_schemas_match_the_code() -> None:
    current = message_schemas()
    committed = {
        f.name.removesuffix(".schema.json"): json.loads(f.read_text())
        for f in SCHEMA_DIR.glob("*.schema.json")
    }
    assert set(committed) == set(current), "run: make schemas"
    for kind, schema in current.items():
        assert committed[kind] == schema, f"{kind} schema drifted: run make schemas"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda f: f.stem)
def test_canonical_messages_satisfy_their_schema(path: Path) -> None:
    schema = json.loads((SCHEMA_DIR / f"{path.stem}.schema.json").read_text())
    jsonschema.validate(json.loads(path.read_text()), schema)


def test_protocol_imports_nothing_of_ours_and_no_io_library() -> None:
    code = (
        "import sys, protocol, protocol.schemas\n"
        "bad = {'edge_agent','hub','hardware','paho','sqlalchemy','sqlite_utils','fastapi',"
        "'httpx','pydantic_settings','serial','escpos','zeroconf'}\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(bad & loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
