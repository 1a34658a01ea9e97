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

``share_dag_params`` goes one step further for the copies Airflow makes of the DAG's own params
(``copy.deepcopy(dag.params)`` once per ``__init__`` of each task's class hierarchy, ~80 per DAG):
the mapping inside the DAG's ``ParamsDict`` copies its Params itself, without ``copy.deepcopy``'s
per-item dispatch (memo, keep-alive), which cost as much as the copies.

Each of these Params also remembers the values it has validated. Airflow validates a Param
(``Param.resolve``: ``jsonschema.validate``, which checks the schema itself against the JSON Schema
meta-schema every time) whenever the params are dumped, compared or printed: serialising the release
DAG resolves every param of every task three times, ~90 % of the serialisation, which the
dag-processor does at every parse and ``dag.test()`` at every run. A value this schema accepted once
is accepted again without asking jsonschema; anything else goes through Airflow's own check.
"""

from __future__ import annotations

import copy
import json
from types import MethodType
from typing import Any

from airflow.sdk import Param
from airflow.sdk.definitions.param import NOTSET, ParamValidationError

_IMMUTABLE = (str, int, float, bool, type(None))


def shared_schema(param: Param) -> Param:
    """``param``, whose deep copies share its (read-only) schema and description, and which
    remembers the values its schema accepted."""
    param.__deepcopy__ = MethodType(_deepcopy_sharing_schema, param)  # type: ignore[method-assign]
    param.resolve = MethodType(_resolve_remembering, param)  # type: ignore[method-assign]
    return param


# (schema, value) pairs, as canonical JSON, that Airflow's check accepted. Bounded: trigger confs add
# values (versions) over a long-lived process's life.
_ACCEPTED: set[tuple[str, str]] = set()
_ACCEPTED_MAX = 4096


def _resolve_remembering(self: Param, value: Any = NOTSET, suppress_exception: bool = False) -> Any:
    """``Param.resolve``, answered from memory for a value this schema accepted before."""
    final = self.value if value is NOTSET else value
    try:
        key = (json.dumps(self.schema, sort_keys=True), json.dumps(final, sort_keys=True))
    except (TypeError, ValueError):  # not JSON (NOTSET among them): Airflow's check says why
        key = None
    if key is not None and key in _ACCEPTED:
        self.value = final
        return final
    try:
        resolved = Param.resolve(self, value, suppress_exception=False)
    except ParamValidationError:
        if suppress_exception:
            return None
        raise
    if key is not None:
        if len(_ACCEPTED) >= _ACCEPTED_MAX:
            _ACCEPTED.clear()
        _ACCEPTED.add(key)
    return resolved


def _deepcopy_sharing_schema(self: Param, memo: dict[int, Any] | None) -> Param:
    clone = object.__new__(Param)  # no __init__: it would check the value again (and refuse NOTSET)
    state = clone.__dict__
    state.update(self.__dict__)
    state["__deepcopy__"] = MethodType(_deepcopy_sharing_schema, clone)  # as shared_schema(clone)
    state["resolve"] = MethodType(_resolve_remembering, clone)
    if not isinstance(self.value, _IMMUTABLE):  # as Airflow's own deep copy does
        state["value"] = copy.deepcopy(self.value, memo)
    return clone


class _ParamsSharingSchema(dict):
    """The mapping inside a DAG's ``ParamsDict``: its deep copy is a plain dict of the Params'
    schema-sharing copies, made directly."""

    def __deepcopy__(self, memo: dict[int, Any] | None) -> dict[str, Param]:
        return {name: _deepcopy_sharing_schema(param, memo) for name, param in self.items()}


def share_dag_params(params: Any) -> None:
    """Make the deep copies of a DAG's ``params`` (a ``ParamsDict`` of ``shared_schema`` Params)
    cheap. Changes nothing when the ``ParamsDict`` is not laid out as expected (another Airflow)."""
    inner = getattr(params, "_ParamsDict__dict", None)
    if type(inner) is dict and all(isinstance(p, Param) for p in inner.values()):
        params._ParamsDict__dict = _ParamsSharingSchema(inner)
