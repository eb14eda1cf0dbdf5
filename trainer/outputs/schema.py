"""The schema version of run.json and metrics.json, and their JSON Schemas (`schemas/*.schema.json`, shipped
with the package; described field by field in docs/outputs.md).

`SCHEMA_VERSION` counts incompatible changes to either document: a field renamed, removed or given another
meaning or type. New fields do not change it; they are added to the schema (tests validate every document the
test suite produces against it, so a field left out of the schema fails them).
"""

import json
from importlib import resources
from typing import Any, Literal

SCHEMA_VERSION = 1
Document = Literal["run", "metrics"]


def json_schema(document: Document) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of run.json or metrics.json."""
    text = resources.files("trainer.outputs").joinpath(f"schemas/{document}.schema.json").read_text("utf-8")
    return json.loads(text)
