"""The baseline: a bare Flask app answering the two endpoints with canned bodies.

Served by the same server as the mock, it shows what the HTTP stack alone costs.
"""

from __future__ import annotations

from flask import Flask, Response

STATUS_BODY = (
    b'{"code":200,"message":"success","data":{"taskId":"task_12345678","state":"success",'
    b'"resultJson":"{\\"resultUrls\\":[\\"https://r2.apixo.ai/xxx.png\\"]}",'
    b'"createTime":1767965610929,"completeTime":1767965652317,"costTime":41388}}'
)
SUBMIT_BODY = b'{"code":200,"message":"success","data":{"taskId":"task_12345678"}}'


def create_app() -> Flask:
    """The canned app."""
    app = Flask("bare")

    @app.get("/api/v1/statusTask/gpt-image-1")
    def status() -> Response:
        return Response(STATUS_BODY, mimetype="application/json")

    @app.post("/api/v1/generateTask/gpt-image-1")
    def submit() -> Response:
        return Response(SUBMIT_BODY, mimetype="application/json")

    return app
