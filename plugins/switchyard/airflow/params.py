"""DAG parameters that are cheap to copy.

Airflow deep-copies the DAG's params into every task it builds, once per ``__init__`` in the
operator's class hierarchy (``get_merged_defaults``): for the release DAG that is about 80 deep
copies of a dozen Params, each walking its JSON schema. With 50 models (100 DAGs) it was most of
the file's parse time. A schema is never changed after the DAG is defined, so a copy may share it;
what a copy must not share (its value, its source) is still copied.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow.sdk import Param


_IMMUTABLE = (str, int, float, bool, type(None))


class SharedSchemaParam(Param):
    """A ``Param`` whose deep copy shares the (read-only) schema and copies the rest. It serialises
    as a ``Param``: the serialised DAG keeps default, description and schema, as for any Param."""

    def __deepcopy__(self, memo: dict[int, Any] | None) -> SharedSchemaParam:
        clone = object.__new__(type(self))  # no __init__: it would re-check the value (and refuse NOTSET)
        clone.__dict__.update(self.__dict__)
        if not isinstance(self.value, _IMMUTABLE):  # as Airflow's own deep copy does
            clone.value = copy.deepcopy(self.value, memo)
        return clone
