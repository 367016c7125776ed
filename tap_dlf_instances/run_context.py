"""What the streams take from the tap that runs them: the run's shared services and listings.

A Protocol, so that no stream module imports ``tap.py`` (which imports every stream): the
package's imports go one way, tap -> streams -> client -> leaves. ``TapDLFInstances`` is the
one implementation.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

    from tap_dlf_instances.api.pacing import RequestPacer
    from tap_dlf_instances.api.page_pool import PagePool
    from tap_dlf_instances.api.paging import OffsetReading
    from tap_dlf_instances.api.transport import DLFSession
    from tap_dlf_instances.auth.base import DLFAuth
    from tap_dlf_instances.auth.gate import CredentialsGate
    from tap_dlf_instances.config.settings import Settings
    from tap_dlf_instances.surrogates import SurrogateReplacements


class RunContext(Protocol):
    #: When this run started (UTC): the default end of every window.
    sync_started_at: datetime
    surrogate_replacements: SurrogateReplacements

    # The run's services, made once and shared by every stream and fetching thread.
    @property
    def settings(self) -> Settings: ...
    @property
    def requests_session(self) -> DLFSession: ...
    @property
    def authenticator(self) -> DLFAuth: ...
    @property
    def credentials_gate(self) -> CredentialsGate: ...
    @property
    def pacer(self) -> RequestPacer: ...
    @property
    def offset_reading(self) -> OffsetReading: ...
    @property
    def request_slots(self) -> threading.BoundedSemaphore: ...
    @property
    def page_pool(self) -> PagePool: ...
    def prepare_for_threads(self) -> None: ...

    # What the run reads, listed once for every stream.
    @property
    def streams(self) -> dict[str, Stream]: ...
    @property
    def instance_job_names(self) -> list[str]: ...
    def workspace_jobs(self) -> list[dict[str, Any]]: ...
    def configured_job_filter(self) -> set[str] | None: ...
    def patch_runs(self, since: int | None) -> list[dict[str, Any]]: ...
    def running_patch_runs(self) -> list[dict[str, Any]]: ...
