"""DAG parameters that are cheap to copy.

Airflow deep-copies the DAG's params into every task it builds, once per ``__init__`` in the
operator's class hierarchy (``get_merged_defaults``): for the release DAG that is about 80 deep
copies of a dozen Params, each walking its JSON schema, and with 50 models (100 DAGs) it was the
largest part of the DAG file's parse time. A schema is never changed once the DAG is defined, so a
copy may share it; what a copy must not share (its value, its source) is still its own.

The Params stay of class ``Param``: Airflow serialises a DAG's params only when their class is
exactly ``airflow.sdk.definitions.param.Param`` (a subclass would be boxed into a Param again and
fail). So the cheaper copy is given to each instance: ``copy.deepcopy`` looks ``__deepcopy__`` up
on the object, and a copy made this way carries its own.
"""

from __future__ import annotations

import copy
from types import MethodType
from typing import Any

from airflow.sdk import Param

_IMMUTABLE = (str, int, float, bool, type(None))


def shared_schema(param: Param) -> Param:
    """``param``, whose deep copies share its (read-only) schema and description."""
    param.__deepcopy__ = MethodType(_deepcopy_sharing_schema, param)  # type: ignore[method-assign]
    return param


def _deepcopy_sharing_schema(self: Param, memo: dict[int, Any] | None) -> Param:
    clone = object.__new__(Param)  # no __init__: it would check the value again (and refuse NOTSET)
    clone.__dict__.update(self.__dict__)
    if not isinstance(self.value, _IMMUTABLE):  # as Airflow's own deep copy does
        clone.value = copy.deepcopy(self.value, memo)
    return shared_schema(clone)
