"""The fields every stream's records carry besides the API's: where they come from.

``project_id`` and ``workspace`` are part of every key, so several projects and workspaces can
load into one table.
"""

from __future__ import annotations

from singer_sdk import typing as th

SOURCE_PROPERTIES = th.PropertiesList(
    th.Property(
        "project_id",
        th.StringType,
        required=True,
        description="Huawei Cloud project the instance was read from (from the config).",
    ),
    th.Property(
        "workspace",
        th.StringType,
        required=True,
        description="DataArts Studio workspace ID from the config, or 'default' when none is set.",
    ),
)
