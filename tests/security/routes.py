"""The app's routes, read from the app itself so that a new route is covered without editing a list:
each with its method, path template, path parameters and the API-key scope it requires."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _iter_included_route_candidates

_PARAM = re.compile(r"{(\w+)(?::path)?}")


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    scopes: frozenset[str]

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def url(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)


def _scopes(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    for dependency in dependant.dependencies:
        call: Any = dependency.call
        if getattr(call, "__qualname__", "").startswith("require_scope.") and call.__closure__:
            found |= {str(cell.cell_contents) for cell in call.__closure__}
        found |= _scopes(dependency)
    return found


def all_routes(app: FastAPI) -> Iterator[RouteInfo]:
    for route in _iter_included_route_candidates(app.router.routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                yield RouteInfo(method, route.path, frozenset(_scopes(route.dependant)))
