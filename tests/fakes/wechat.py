"""A fake of WeChat's code2Session endpoint: a real local HTTP server with WeChat's error codes.

The ``js_code`` decides the answer: ``ok-<name>`` logs in as openid ``openid-<name>``;
``invalid`` 40029, ``used`` 40163, ``limited`` 45011, ``risky`` 40226, ``busy`` -1,
``http500`` an HTTP 500, ``garbage`` a non-JSON body. A wrong appid/secret answers 40125.

The same server answers the access-token and subscription-message endpoints
(``tests.fakes.wechat_subscribe``): ``FakeWechat.subscribe`` holds their state.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.wechat_subscribe import SubscribeState

APPID = "wx-test-appid"
SECRET = "wx-test-secret"
ERRORS = {"invalid": 40029, "used": 40163, "limited": 45011, "risky": 40226, "busy": -1}


class _Handler(BaseHTTPRequestHandler):
    calls: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _state(self) -> SubscribeState:
        state: SubscribeState = self.server.subscribe  # type: ignore[attr-defined]
        return state

    def _json(self, answer: dict[str, Any]) -> None:
        self._send(200, json.dumps(answer, ensure_ascii=False).encode(), "application/json")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json({"errcode": 47001, "errmsg": "data format error"})
            return
        if url.path == "/cgi-bin/stable_token":
            self._json(self._state().issue_token(body, stable=True))
        elif url.path == "/cgi-bin/message/subscribe/send":
            self._json(self._state().send(query.get("access_token", ""), body))
        else:
            self._send(404, b"{}")

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/cgi-bin/token":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._json(self._state().issue_token(query))
            return
        if url.path != "/sns/jscode2session":
            self._send(404, b"{}")
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        code = query.get("js_code", "")
        type(self).calls.append(code)
        if query.get("appid") != APPID or query.get("secret") != SECRET:
            answer: dict[str, object] = {"errcode": 40125, "errmsg": "invalid appsecret"}
        elif query.get("grant_type") != "authorization_code":
            answer = {"errcode": 40002, "errmsg": "invalid grant_type"}
        elif code == "http500":
            self._send(500, b"internal error", "text/plain")
            return
        elif code == "garbage":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        elif code in ERRORS:
            answer = {"errcode": ERRORS[code], "errmsg": code}
        elif code.startswith("ok-"):
            answer = {
                "openid": f"openid-{code[3:]}",
                "session_key": "c2Vzc2lvbg==",
                "unionid": f"union-{code[3:]}",
            }
        else:
            answer = {"errcode": 40029, "errmsg": "invalid code"}
        # WeChat answers errors with HTTP 200 and text/plain JSON.
        self._send(200, json.dumps(answer).encode(), "text/plain")


class FakeWechat:
    def __init__(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.subscribe = SubscribeState(APPID, SECRET)
        self.server.subscribe = self.subscribe  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def calls(self) -> list[str]:
        return _Handler.calls

    def __enter__(self) -> FakeWechat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
