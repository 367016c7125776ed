"""The first request goes alone until the API has accepted the credentials once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from tap_dlf_instances.errors import AuthenticationError


class CredentialsGate:
    """Lets requests through one at a time until the API has accepted the credentials once.

    Several fetching threads start together; with a wrong AK/SK each would send a request
    signed with it, and a key is locked after 5 failed signatures. So the first request goes
    alone, and once the credentials are refused no further request is sent.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted = threading.Event()
        self._refusal: AuthenticationError | None = None

    def send(self, request: Callable[[], requests.Response]) -> requests.Response:
        if self._accepted.is_set():
            return request()
        with self._lock:
            if self._refusal is not None:
                raise AuthenticationError(str(self._refusal))
            if not self._accepted.is_set():
                try:
                    response = request()
                except AuthenticationError as exc:
                    self._refusal = exc
                    raise
                self._accepted.set()
                return response
        return request()
