"""Kaggle's servers, stubbed at the lowest layer the kaggle package uses: ``requests.Session.send``.

Everything above it runs for real: ``KaggleApi`` (its metadata checks, its zipping of folders, its upload and
retry logic), kagglesdk's request objects, their JSON encoding and the URL of each call. The stub records
every request it is sent and answers from a table of canned replies per endpoint (the last part of the URL,
e.g. ``SaveKernel``); an endpoint without a reply fails the test, so no unexpected call goes unnoticed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

UPLOAD_URL = "https://upload.stub.invalid/blob"


@dataclass
class Sent:
    method: str
    url: str
    endpoint: str
    body: Any
    """The JSON request body (a dict), or the size in bytes of an upload."""


@dataclass
class KaggleStub:
    replies: dict[str, list[Any]] = field(default_factory=dict)
    """endpoint -> replies in order (the last one repeats); a reply is a dict (200 JSON) or (status, dict)."""
    sent: list[Sent] = field(default_factory=list)

    def reply(self, endpoint: str, *answers: Any) -> "KaggleStub":
        self.replies[endpoint] = list(answers)
        return self

    def calls(self, endpoint: str) -> list[Any]:
        return [s.body for s in self.sent if s.endpoint == endpoint]

    def endpoints(self) -> list[str]:
        return [s.endpoint for s in self.sent]

    def send(self, session: requests.Session, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        if request.url.startswith(UPLOAD_URL):
            body = request.body
            size = len(body) if isinstance(body, (bytes, str)) else sum(len(chunk) for chunk in iter(lambda: body.read(1 << 20), b""))
            self.sent.append(Sent(request.method, request.url, "upload", size))
            return _response(request, 200, {})
        endpoint = request.url.rstrip("/").rsplit("/", 1)[-1]
        body = json.loads(request.body) if request.body else None
        self.sent.append(Sent(request.method, request.url, endpoint, body))
        answers = self.replies.get(endpoint)
        if not answers:
            raise AssertionError(f"unexpected Kaggle call {endpoint} ({request.url}) with {body}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer):
            answer = answer(body)
        status, payload = answer if isinstance(answer, tuple) else (200, answer)
        return _response(request, status, payload)


def _response(request: requests.PreparedRequest, status: int, payload: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(payload).encode()
    response.url = request.url
    response.request = request
    return response


def blob_upload(body: dict) -> dict:
    """StartBlobUpload: where to PUT the file, and the token that names it in the create call."""
    return {"token": f"token-{body['name']}", "createUrl": f"{UPLOAD_URL}/{body['name']}"}


NOT_FOUND = (404, {"code": 404, "message": "Not found"})


def kaggle_api(monkeypatch, tmp_path, stub: KaggleStub, username: str = "alice") -> Any:
    """A real, authenticated ``KaggleApi`` whose HTTP goes to ``stub`` (legacy key auth: no call at login)."""
    import pytest

    monkeypatch.setattr(requests.Session, "send", lambda session, request, **kw: stub.send(session, request, **kw))
    monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.kaggle/access_token of the machine
    monkeypatch.setenv("KAGGLE_USERNAME", username)
    monkeypatch.setenv("KAGGLE_KEY", "0" * 32)
    KaggleApi = pytest.importorskip("kaggle.api.kaggle_api_extended").KaggleApi  # in the `test` extra
    api = KaggleApi()
    api.authenticate()
    return api


