"""The base stream for DataArts Factory V2 endpoints: URLs, headers, errors, retries, pacing."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Generator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext

from tap_dlf_instances import scrubbing
from tap_dlf_instances.api.responses import error_fields, page_of, parsed_body, path_of, replaced_fields
from tap_dlf_instances.api.retry_after import MAX_RETRY_AFTER_SECONDS, retry_after, retry_waits
from tap_dlf_instances.api.transport import unretryable_reason
from tap_dlf_instances.auth.credentials import credential_settings
from tap_dlf_instances.errors import ApiError, AuthenticationError

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_dlf_instances.api.pacing import RequestPacer
    from tap_dlf_instances.api.transport import DLFSession
    from tap_dlf_instances.auth.base import DLFAuth
    from tap_dlf_instances.config.settings import Settings
    from tap_dlf_instances.run_context import RunContext

#: Huawei's advice when a 429 comes without ``Retry-After``: wait 2 to 5 seconds.
THROTTLE_WAIT_SECONDS = (2.0, 5.0)
MAX_BACKOFF_SECONDS = 60.0


class JobNotFoundError(ApiError):
    """``DLF.0100``: the job named in the path does not exist (in this workspace)."""


class ThrottledError(RetriableAPIError):
    """A 429: retried after ``Retry-After`` or Huawei's advised pause."""

    def __init__(self, message: str, response: requests.Response, wait: float) -> None:
        super().__init__(message, response)
        self.wait = wait


class UnauthorizedRetryError(RetriableAPIError):
    """A 401 after which the authenticator obtained a new token: retry at once."""


class DLFStream(RESTStream[int]):
    """Shared request behaviour of the DataArts Factory streams."""

    _LOG_REQUEST_METRICS = False
    #: The list a 200 of this stream's endpoint must hold (see ``page_of``).
    rows_key: str | None = None
    # The API never redirects: a 3xx is an error (validate_response), never followed, so no
    # credential or signed header reaches the host a Location names. DLFSession enforces it too.
    allow_redirects = False
    #: The setting that names this stream's endpoint, and the API's name, for the errors.
    url_setting = "api_url"
    api_name = "The DataArts Factory API"

    def __init__(self, tap: Tap, *, run: RunContext) -> None:
        self._run = run  # the run's shared services (run_context.py): the tap itself
        super().__init__(tap=tap)

    @property
    def settings(self) -> Settings:
        return self._run.settings

    @property
    def endpoint_url(self) -> str:
        """The base URL of this stream's API, as its setting gives it."""
        return str(getattr(self.settings, self.url_setting) or "")

    @property
    def url_base(self) -> str:
        return f"{self.settings.api_url}/v2/{self.settings.project_id}/factory"

    @property
    def http_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.settings.workspace:
            headers["workspace"] = self.settings.workspace
        return headers

    @property
    def authenticator(self) -> DLFAuth:
        return self._run.services.authenticator

    @property
    def pacer(self) -> RequestPacer:
        return self._run.services.pacer

    @property
    def requests_session(self) -> DLFSession:
        return self._run.services.requests_session

    @property
    def timeout(self) -> int:
        return int(self.settings.request_timeout)

    def build_prepared_request(self, *args: Any, **kwargs: Any) -> requests.PreparedRequest:
        """The request as the SDK prepares it, but with exactly the path ``get_url`` built:
        requests removes dot segments and decodes ``%2E``, which turned a job named ``..`` into
        another URL."""
        prepared = super().build_prepared_request(*args, **kwargs)
        built = urlsplit(kwargs.get("url") or "")
        if prepared.url and built.path:
            parts = urlsplit(prepared.url)
            prepared.url = urlunsplit((parts.scheme, parts.netloc, built.path, parts.query, ""))
        return prepared

    def prepared_request(self, context: Context | None, page_token: Any) -> requests.PreparedRequest:
        """The request for one page, built by the SDK's public hooks (``get_http_request``,
        ``build_prepared_request``): for the requests this tap sends outside the SDK's own
        ``request_records`` loop (pages in parallel, one node run, one job's nodes)."""
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=page_token)
        )
        return self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
            data=http_request.data,
        )

    def _request(
        self,
        prepared_request: requests.PreparedRequest,
        context: Context | None,
    ) -> requests.Response:
        def send() -> requests.Response:
            # A slot is held only while the request is paced and sent, never across a retry's
            # back-off: requests in flight stay at `max_workers` across the threads.
            with self._run.services.request_slots:
                self.pacer.wait()
                return super(DLFStream, self)._request(prepared_request, context)

        return self._run.services.credentials_gate.send(send)

    # Errors

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            self._raise_redirect(response)
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            asked = retry_after(response)
            wait = asked.wait if asked is not None else random.uniform(*THROTTLE_WAIT_SECONDS)
            self.pacer.hold(wait)
            code, message = error_fields(response)
            why = f"; {asked.describe()}" if asked is not None else ""
            raise ThrottledError(f"throttled (429 {code}{why}): {message}", response, wait)
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            code, message = error_fields(response)
            raise RetriableAPIError(f"server error {status} {code or ''}: {message}".strip(), response)
        if status == HTTPStatus.UNAUTHORIZED:
            self._raise_unauthorized(response)
        if status >= HTTPStatus.BAD_REQUEST:
            self._raise_client_error(response)
        parsed_body(response)  # a 200 with HTML or a cut-short body is retried
        fields = replaced_fields(response)
        if fields:
            self._run.surrogate_replacements.note(self.name, fields, self.logger)
        if self.rows_key is not None:
            page_of(response, self.rows_key)  # so is a 200 that is not a page

    def _raise_redirect(self, response: requests.Response) -> None:
        target = urlsplit(response.headers.get("Location") or "")
        # Only where it points, not the whole Location: its query could carry anything.
        where = f" to {target.scheme}://{target.netloc}" if target.netloc else ""
        setting = self.url_setting
        raise ApiError(
            f"The API at `{setting}` ({self.endpoint_url}) answered {response.request.method} "
            f"{path_of(response)} with a redirect ({response.status_code}{where}). {self.api_name} "
            f"never redirects, so the tap does not follow it: check `{setting}` or `region`.",
            status=response.status_code,
        )

    def _raise_unauthorized(self, response: requests.Response) -> None:
        code, message = error_fields(response)
        if code == "APIGW.0303":
            raise AuthenticationError(
                f"The API refused the request time (APIGW.0303: {message}): check the clock of "
                "this machine; AK/SK signatures are only accepted within 15 minutes of the "
                "server's time."
            )
        if self.authenticator.handle_unauthorized(response.request):
            raise UnauthorizedRetryError(f"401 {code}: {message}; retrying with a new token", response)
        raise AuthenticationError(
            f"The API refused the credentials (401 {code}: {message}). Check "
            f"{credential_settings(self.settings.credentials)} and `project_id`."
        )

    def _raise_client_error(self, response: requests.Response) -> None:
        code, message = error_fields(response)
        where = f"{response.request.method} {path_of(response)}"
        if code == "DLF.0100":
            raise JobNotFoundError(f"{where}: {code} {message}", status=response.status_code, error_code=code)
        if code == "APIGW.0106":
            hint = "Set `workspace` to the workspace ID (DataArts Studio console, Workspaces)."
        elif code == "APIGW.0101" or response.status_code == HTTPStatus.NOT_FOUND:
            hint = (
                "Check `api_url` or `region`: V2 DataArts Factory APIs live on "
                "https://dayu.<region>.myhuaweicloud.com, not on dayu-dlf."
            )
        elif response.status_code == HTTPStatus.FORBIDDEN:
            hint = "Check that the credentials may read DataArts Factory in `project_id` and `workspace`."
        else:
            hint = "This is not retried."
        raise ApiError(
            f"The DataArts Factory API refused {where} with {response.status_code} "
            f"{code or ''}: {message}. {hint}".replace("  ", " "),
            status=response.status_code,
            error_code=code,
        )

    # Retries

    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """The tap's retry policy (api/retry_after.py): ``Retry-After`` or 2-5 s on a 429, none
        after a token refresh, exponential (1, 2, 4 ... 60 s) otherwise."""

        def asked(failure: BaseException | None) -> float | None:
            if isinstance(failure, ThrottledError):
                return failure.wait
            return 0.0 if isinstance(failure, UnauthorizedRetryError) else None

        return retry_waits(asked, first=1.0, cap=MAX_BACKOFF_SECONDS, full_jitter=False)

    def backoff_jitter(self, value: float) -> float:
        # Up to 10 % more, but never past the Retry-After cap.
        return min(value * random.uniform(1.0, 1.1), max(value, MAX_RETRY_AFTER_SECONDS))

    def backoff_max_tries(self) -> int:
        return self.settings.max_retries + 1

    def backoff_handler(self, details: Any) -> None:
        exc = details.get("exception")
        self.log(
            "Retrying %s in %.1f s (attempt %d of %d): %s",
            self.name,
            details.get("wait") or 0.0,
            details.get("tries"),
            self.backoff_max_tries(),
            exc if isinstance(exc, RetriableAPIError) else type(exc).__name__,
            level=logging.WARNING,
        )

    def request_decorator(self, func: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        # The SDK's decorator (singer_sdk/streams/rest.py) with the same exceptions, plus a
        # giveup: what retrying cannot fix stops at once instead of after max_retries backoffs.
        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            (
                ConnectionResetError,
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=self.backoff_max_tries,
            giveup=lambda exc: self._unretryable(exc) is not None,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=self.logger,
        )(func)
        tries = self.backoff_max_tries()

        def request_or_explain(
            prepared_request: requests.PreparedRequest, context: Context | None
        ) -> requests.Response:
            try:
                return retrying(prepared_request, context)
            except RetriableAPIError as exc:
                raise ApiError(
                    f"Gave up on {prepared_request.method} {prepared_request.path_url} after "
                    f"{tries} attempts: {str(exc).rstrip('.')}. Raise `max_retries` or try again later.",
                    status=exc.response.status_code if exc.response is not None else 0,
                ) from None
            except (requests.ConnectionError, requests.Timeout, ConnectionResetError) as exc:
                reason = self._unretryable(exc)
                if reason is not None:
                    raise ApiError(
                        f"Cannot reach the API at {self.endpoint_url}: {reason}. "
                        f"Check `{self.url_setting}` or `region`{_tls_hint(reason)}; this is not retried.",
                        status=0,
                    ) from None
                raise ApiError(
                    f"Gave up on {prepared_request.method} {prepared_request.path_url} after "
                    f"{tries} attempts: {type(exc).__name__} ({_short(exc)}). Check "
                    f"`{self.url_setting}` or `region` and the network, or raise `request_timeout`.",
                    status=0,
                ) from None

        return request_or_explain

    def _unretryable(self, exc: BaseException) -> str | None:
        return unretryable_reason(exc, host_answered=self.requests_session.has_answered(self.endpoint_url))


def _tls_hint(reason: str) -> str:
    if "TLS" not in reason:
        return ""
    return ", and for a private CA set `ca_bundle` (certificates are always verified)"


def _short(exc: BaseException) -> str:
    text = scrubbing.scrub(str(exc))  # before cutting, as in error_fields
    return text if len(text) <= 200 else text[:200] + "..."


def path_segment(name: str) -> str:
    """``name`` as one path segment: every character that could change the URL encoded, ``/ ? #
    %`` as well as the dot segments ``.`` and ``..``, which ``quote`` leaves as they are (dots in
    longer names stay, so ordinary names go out byte for byte as before)."""
    encoded = quote(name, safe="")
    return encoded.replace(".", "%2E") if set(name) == {"."} else encoded
