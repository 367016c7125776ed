"""The DLF V1 API (``v1_api_url``, the ``dayu-dlf`` host): the base of its requests;
``ShowJob``, which names a real-time job's nodes (its sub-jobs are ``<job>_<node>``); and
``ListJobInstances``, the workspace-wide listing of instances."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk import typing as th
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import SinglePagePaginator

from tap_dlf_instances.api.client import DLFStream, JobNotFoundError, path_segment
from tap_dlf_instances.api.responses import error_fields, parsed_body
from tap_dlf_instances.api.workspace_listing import listing_page, listing_params
from tap_dlf_instances.errors import ApiError

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_dlf_instances.windows import Window


class MalformedNodesError(ValueError):
    """A 200 whose body is not a job instance with its node runs."""


def node_rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The node runs of a ``ShowJobInstance`` body; ``MalformedNodesError`` when it has none
    that could be read (an ``error_code`` body, no ``nodes`` list, nodes that are not objects)."""
    if "error_code" in body:
        raise MalformedNodesError(f"is an error ({body.get('error_code')!s:.40})")
    nodes = body.get("nodes")
    if not isinstance(nodes, list):
        raise MalformedNodesError("has no `nodes` list")
    if not all(isinstance(node, dict) for node in nodes):
        raise MalformedNodesError("has `nodes` that are not objects")
    return nodes


class DLFV1Stream(DLFStream):
    """Requests to the DLF V1 API (``v1_api_url``, the ``dayu-dlf`` host)."""

    url_setting = "v1_api_url"
    api_name = "The DLF V1 API"

    @property
    def url_base(self) -> str:
        return f"{self.settings.v1_api_url}/v1/{self.settings.project_id}"

    def get_new_paginator(self) -> SinglePagePaginator:
        return SinglePagePaginator()

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {}  # the V1 routes read take no query

    def fetch(self, context: Context, page_token: Any = None) -> requests.Response:
        """The one request of ``context``, by the SDK's request path (auth, pacing, retries,
        checks): ``request_records`` would log a METRIC line for each, once per instance here."""
        request = self.prepared_request(context, page_token)
        return self.request_decorator(self._request)(request, context)

    def _raise_client_error(self, response: requests.Response) -> None:
        code, message = error_fields(response)
        if code == "APIGW.0101" or response.status_code == HTTPStatus.NOT_FOUND:
            raise ApiError(
                f"The API at `v1_api_url` ({self.settings.v1_api_url}) has no route "
                f"{response.request.method} {response.request.path_url} ({code}: {message}). Check "
                "`v1_api_url` or `region`: DLF V1 APIs live on https://dayu-dlf.<region>.myhuaweicloud.com.",
                status=response.status_code,
                error_code=code,
            )
        super()._raise_client_error(response)


class JobDetailReader(DLFV1Stream):
    """``ShowJob`` (``GET /v1/{project_id}/jobs/{job_name}``): a job's node names. Not a stream
    of the catalog, a reader: the tap asks it for each real-time job once per sync."""

    name = "job_detail"
    path = "/jobs/{job_name}"
    schema = th.PropertiesList(th.Property("name", th.StringType)).to_dict()

    def get_url(self, context: Context | None) -> str:
        return f"{self.url_base}/jobs/{path_segment((context or {})['job_name'])}"

    def validate_response(self, response: requests.Response) -> None:
        super().validate_response(response)
        try:
            self._names(parsed_body(response))
        except MalformedNodesError as exc:
            raise RetriableAPIError(
                f"{response.request.method} {response.request.path_url} answered "
                f"{response.status_code} with a body that {exc}",
                response,
            ) from None

    @staticmethod
    def _names(body: Mapping[str, Any]) -> list[str]:
        nodes = node_rows(body)
        names = [node.get("name") for node in nodes]
        if not all(isinstance(name, str) and name for name in names):
            raise MalformedNodesError("has nodes without a `name`")
        return [name for name in names if isinstance(name, str)]

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return [{"name": name} for name in self._names(parsed_body(response))]

    def node_names(self, job_name: str) -> list[str] | None:
        """The job's node names; None when the job does not exist (any more)."""
        try:
            return self._names(parsed_body(self.fetch({"job_name": job_name})))
        except JobNotFoundError:
            return None


class WorkspaceListingReader(DLFV1Stream):
    """``ListJobInstances`` (``GET /v1/{project_id}/jobs/instances/detail``): pages of the
    workspace-wide listing (api/workspace_listing.py), by the SDK's request path, so that its
    errors name `v1_api_url`. Not a stream of the catalog, a reader: the instances stream asks
    it for pages."""

    name = "instances_listing"
    path = "/jobs/instances/detail"
    schema = th.PropertiesList(th.Property("instance_id", th.IntegerType)).to_dict()
    rows_key = "instances"

    def __init__(self, *args: Any, on_request: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_request = on_request

    def get_url(self, context: Context | None) -> str:
        return f"{self.url_base}/jobs/instances/detail"

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return listing_params(
            (context or {})["window"],
            limit=self.settings.page_size,
            offset=next_page_token or 0,
            filters=self.settings.filters.as_params(),
        )

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        if self._on_request is not None:
            self._on_request()
        return super()._request(prepared_request, context)

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        return listing_page(response).rows

    def page(self, window: Window, offset: int) -> tuple[requests.Response, list[dict[str, Any]]]:
        """The page of the listing at ``offset`` in ``window``: its response and rows."""
        response = self.fetch({"window": window}, offset)
        return response, list(self.parse_response(response))
