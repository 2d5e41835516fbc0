"""glint_http: HTTP requests through wasi:http for glint exporters written in Python.

Build the exporter for the `exporter-http` world (`componentize-py -w exporter-http`), which
names wasi:http's outgoing handler. glint sends a request only to a destination the operator
granted the plugin; any other is refused (`HttpError`, kind "denied").

    from glint_http import Request

    Request.post(url, "text/plain", body).basic_auth(user, password).deliver("InfluxDB")

`deliver` judges the answer as an export: 2xx is delivered; no answer, a 5xx, 408 or 429 raises
`Err(ExportError_Retryable)` (glint keeps the batches and tries again); any other answer raises
`Err(ExportError_Permanent)` (glint drops them and logs why).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err
from wit_world.imports import glint_plugin_types as glint_types
from wit_world.imports import outgoing_handler
from wit_world.imports import streams
from wit_world.imports import wasi_http_types as http

__all__ = ["DEFAULT_TIMEOUT", "HttpError", "Request", "Response", "judge"]

#: How long a request may take by default, in seconds: under glint's default deadline of a call.
DEFAULT_TIMEOUT = 5.0
#: The most of an answer's body read: a target answering without end must not fill memory.
MAX_BODY = 1 << 20
#: wasi:io writes at most 4096 bytes per blocking call.
_CHUNK = 4096


class HttpError(Exception):
    """A request that got no answer. `kind`: "denied" (not a granted destination), "bad-url"
    or "transport" (the target could not be reached or stopped answering)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Response:
    status: int
    headers: List[Tuple[str, bytes]]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Request:
    method: str
    url: str
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    timeout: float = DEFAULT_TIMEOUT

    @staticmethod
    def get(url: str) -> "Request":
        return Request("GET", url)

    @staticmethod
    def post(url: str, content_type: str, body: bytes) -> "Request":
        return Request("POST", url, [("content-type", content_type)], body)

    def header(self, name: str, value: str) -> "Request":
        self.headers.append((name, value))
        return self

    def basic_auth(self, user: str, password: str) -> "Request":
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.header("authorization", f"Basic {token}")

    def send(self) -> Response:
        """Sends it and reads the whole answer (up to MAX_BODY bytes)."""
        return send(self)

    def deliver(self, what: str) -> Response:
        """Sends it and judges the answer as an export (see `judge`). `what` names the target
        in messages."""
        return judge(what, self.url, lambda: send(self), lambda status: 200 <= status < 300)


def judge(what: str, url: str, attempt: Callable[[], Response],
          ok: Callable[[int], bool]) -> Response:
    """Runs `attempt` and judges its answer as an export: a status `ok` accepts is delivered; no
    answer, a 5xx, 408 or 429 is worth a retry; any other answer, and a destination glint
    refused, are permanent."""
    try:
        response = attempt()
    except HttpError as e:
        if e.kind == "transport":
            raise Err(glint_types.ExportError_Retryable(f"{what} at {url} unreachable: {e}"))
        raise Err(glint_types.ExportError_Permanent(f"{what} at {url}: {e}"))
    if ok(response.status):
        return response
    excerpt = " ".join(response.text().split())[:300]
    message = f"{what} at {url} answered {response.status}: {excerpt}"
    if response.status >= 500 or response.status in (408, 429):
        raise Err(glint_types.ExportError_Retryable(message))
    raise Err(glint_types.ExportError_Permanent(message))


def _method(name: str) -> http.Method:
    known = {"GET": http.Method_Get, "POST": http.Method_Post, "PUT": http.Method_Put,
             "DELETE": http.Method_Delete, "HEAD": http.Method_Head}
    return known[name]() if name in known else http.Method_Other(name)


def _request(request: Request) -> http.OutgoingRequest:
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpError("bad-url", f"{request.url!r} is not an http:// or https:// URL")
    headers = [(k.lower(), v.encode()) for k, v in request.headers]
    if request.body:
        headers.append(("content-length", str(len(request.body)).encode()))
    try:
        fields = http.Fields.from_list(headers)
    except Err as e:
        raise HttpError("bad-url", f"a header is not valid: {e.value}")
    outgoing = http.OutgoingRequest(fields)
    outgoing.set_method(_method(request.method))
    outgoing.set_scheme(http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http())
    outgoing.set_authority(parts.netloc)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    outgoing.set_path_with_query(path)
    return outgoing


def _options(timeout: float) -> http.RequestOptions:
    options = http.RequestOptions()
    nanos = int(timeout * 1e9)
    options.set_connect_timeout(nanos)
    options.set_first_byte_timeout(nanos)
    options.set_between_bytes_timeout(nanos)
    return options


def _error_text(error: object) -> str:
    return type(error).__name__.removeprefix("ErrorCode_") + (
        f": {error.value}" if getattr(error, "value", None) is not None else ""
    )


def send(request: Request) -> Response:
    """Sends `request` through wasi:http and reads the whole answer."""
    outgoing = _request(request)
    body = outgoing.body()
    try:
        future = outgoing_handler.handle(outgoing, _options(request.timeout))
    except Err as e:
        if isinstance(e.value, http.ErrorCode_HttpRequestDenied):
            raise HttpError("denied", f"{urlsplit(request.url).netloc} is not a granted destination")
        raise HttpError("transport", _error_text(e.value))
    try:
        with body.write() as stream:
            data = request.body
            for start in range(0, len(data), _CHUNK):
                stream.blocking_write_and_flush(data[start:start + _CHUNK])
        http.OutgoingBody.finish(body, None)
    except Err:
        # The request failed (refused, or the target hung up): its answer below says why. An
        # Err left to reach the export would trap, not fail it.
        pass
    with future.subscribe() as ready:
        ready.block()
    answer = future.get()
    if answer is None or isinstance(answer, Err) or isinstance(answer.value, Err):
        error = answer.value.value if answer is not None and not isinstance(answer, Err) else answer
        if isinstance(error, http.ErrorCode_HttpRequestDenied):
            raise HttpError("denied", f"{urlsplit(request.url).netloc} is not a granted destination")
        raise HttpError("transport", _error_text(error))
    response = answer.value.value
    status = response.status()
    headers = response.headers().entries()
    incoming = response.consume()
    chunks: List[bytes] = []
    size = 0
    with incoming.stream() as stream:
        while size < MAX_BODY:
            try:
                chunk = stream.blocking_read(MAX_BODY - size)
            except Err as e:
                if isinstance(e.value, streams.StreamError_Closed):
                    break
                raise HttpError("transport", "the answer's body was cut off")
            chunks.append(chunk)
            size += len(chunk)
    return Response(status, headers, b"".join(chunks))
