"""The JSON Schema of the report, generated from the model (``outreach.reports.model``).

``schemas/report.schema.json`` is this generation's output; regenerate it with
``python -c "from outreach.reports.schema import write_schema; write_schema()"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from outreach.reports.model import Report

SCHEMA_ID = "https://outreach.invalid/schemas/report.schema.json"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json"


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, written the way a person writes a schema: no titles but the
    report's own, and ``{"type": [T, "null"]}`` for a plain value that may be null."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if set(inner) == {"type"} and isinstance(inner["type"], str):
            return {"type": [inner["type"], "null"]}
        return super().nullable_schema(schema)

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        out = super().generate(schema, mode)
        for definition in out.get("$defs", {}).values():
            definition.pop("title", None)
        return {"$schema": self.schema_dialect, "$id": SCHEMA_ID, **out}


def report_schema() -> dict[str, Any]:
    """The report's JSON Schema (draft 2020-12)."""
    return Report.model_json_schema(by_alias=True, schema_generator=_Generator,
                                    mode="serialization")


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(report_schema(), ensure_ascii=False, indent=2) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> None:
    path.write_text(schema_text(), encoding="utf-8")
