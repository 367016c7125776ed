"""What the streams take from the tap that runs them: the run's shared services and listings.

A Protocol, so that no stream module imports ``tap.py`` (which imports every stream): the
package's imports go one way, tap -> streams -> api -> leaves. ``TapDLFInstances`` is the
one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import requests
    from singer_sdk.streams import Stream

    from tap_dlf_instances.api.services import RunServices
    from tap_dlf_instances.config.settings import Settings
    from tap_dlf_instances.surrogates import SurrogateReplacements
    from tap_dlf_instances.windows import Window


class ListingPages(Protocol):
    """The workspace-wide listing's pages (``api/v1_client.WorkspaceListingReader``)."""

    def page(self, window: Window, offset: int) -> tuple[requests.Response, list[dict[str, Any]]]: ...


class RunContext(Protocol):
    #: When this run started (UTC): the default end of every window.
    sync_started_at: datetime
    surrogate_replacements: SurrogateReplacements

    # The run's services, made once and shared by every stream and fetching thread.
    @property
    def settings(self) -> Settings: ...
    @property
    def services(self) -> RunServices: ...
    def prepare_for_threads(self) -> None: ...

    # What the run reads, listed once for every stream.
    @property
    def streams(self) -> dict[str, Stream]: ...
    @property
    def instance_job_names(self) -> list[str]: ...
    @property
    def sub_job_names(self) -> frozenset[str]: ...
    def workspace_jobs(self) -> list[dict[str, Any]]: ...
    def configured_job_filter(self) -> set[str] | None: ...
    def patch_runs(self, since: int | None) -> list[dict[str, Any]]: ...
    def running_patch_runs(self) -> list[dict[str, Any]]: ...
    def workspace_listing_reader(self, *, on_request: Callable[[], None]) -> ListingPages: ...
