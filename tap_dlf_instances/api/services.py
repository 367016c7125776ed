"""What every request of a run shares, made once from the settings: the HTTP session, the
authenticator, the credentials gate, the pacer, the reading of ``offset``, the request slots and
the page pool. The tap owns one (``TapDLFInstances.services``); the streams reach it through
``RunContext.services``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tap_dlf_instances.api.pacing import RequestPacer
from tap_dlf_instances.api.page_pool import PagePool
from tap_dlf_instances.api.paging import OffsetReading
from tap_dlf_instances.api.transport import DLFSession, resolve_verify
from tap_dlf_instances.auth.authenticators import build_authenticator
from tap_dlf_instances.auth.gate import CredentialsGate

if TYPE_CHECKING:
    from tap_dlf_instances.auth.base import DLFAuth
    from tap_dlf_instances.config.settings import Settings


class RunServices:
    """Made whole before any fetching thread starts, so that no thread creates one of them."""

    def __init__(self, settings: Settings) -> None:
        self.requests_session = DLFSession(
            deadline_seconds=settings.request_timeout,
            verify=resolve_verify(settings.ca_bundle),
            pool_maxsize=settings.max_workers + 4,
        )
        self.authenticator: DLFAuth = build_authenticator(
            settings.credentials,
            project_id=settings.project_id,
            iam_url=settings.iam_url,
            session=self.requests_session,
            timeout=settings.request_timeout,
        )
        #: The first request goes alone until the API has accepted the credentials once.
        self.credentials_gate = CredentialsGate()
        self.pacer = RequestPacer(settings.max_requests_per_second)
        #: How the instances and jobs routes read ``offset`` (page or row), learnt once a run.
        self.offset_reading = OffsetReading(settings.offset_mode)
        #: The same for the workspace-wide V1 listing, another API that may read it otherwise.
        self.listing_offset_reading = OffsetReading(settings.offset_mode)
        #: Requests in flight at once, whichever thread sends them: ``max_workers``.
        self.request_slots = threading.BoundedSemaphore(settings.max_workers)
        self.page_pool = PagePool(settings.max_workers)
