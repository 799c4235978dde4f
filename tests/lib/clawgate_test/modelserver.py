"""A small OpenAI-compatible model server on 127.0.0.1 for the real OpenClaw gateway
to use as its model provider, so that an agent turn completes without the internet
and without model credentials.

  ModelServer       http.server on a free loopback port, served by a daemon thread;
                    GET /v1/models lists one model; POST /v1/chat/completions answers
                    ANSWER, streamed as server-sent events when the request says
                    "stream": true, as one JSON object otherwise; every request is
                    recorded (method, path, headers, parsed JSON body)
  provider_config   the `models` and `agents.defaults.model` configuration that makes
                    the server the gateway's only model (OpenClaw's custom
                    OpenAI-compatible provider, api "openai-completions")

The answer is fixed on purpose: a test recognises it in the gateway's chat events and
so proves that the turn went through this server and nowhere else."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDER = "clawgate-local"
MODEL = "clawgate-test-model"
ANSWER = "The clawgate test model answers: relay contract ok."
# A request body larger than this is refused (the gateway's prompts are far smaller).
MAX_BODY = 8 << 20
# The streamed answer comes in pieces of this many characters, so that a client sees
# more than one delta.
CHUNK = 12


def provider_config(base_url, *, provider=PROVIDER, model=MODEL):
    """The openclaw.json members that make base_url (".../v1") the only model
    provider and its model the agents' default."""
    return {
        "models": {
            "mode": "merge",
            "catalogRefresh": {"enabled": False},
            "providers": {
                provider: {
                    "baseUrl": base_url,
                    # A non-secret marker: OpenClaw accepts it for a loopback baseUrl.
                    "apiKey": "clawgate-local",
                    "api": "openai-completions",
                    "timeoutSeconds": 30,
                    "models": [{
                        "id": model,
                        "name": "clawgate test model",
                        "reasoning": False,
                        "input": ["text"],
                        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                        "contextWindow": 128000,
                        "maxTokens": 4096,
                        # A fixed text answer never calls a tool.
                        "compat": {"supportsTools": False},
                    }],
                },
            },
        },
        "agents": {"defaults": {"model": {"primary": "%s/%s" % (provider, model)}}},
    }


class Request:
    """One request the server received."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def __repr__(self):
        return "Request(%s %s %r)" % (self.method, self.path, self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clawgate-test-model/1"

    def log_message(self, fmt, *args):  # the test output stays readable
        pass

    def _record(self, body):
        self.server.owner.record(Request(self.command, self.path, dict(self.headers), body))

    def _json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": self.server.owner.model, "object": "model", "created": 0,
                 "owned_by": "clawgate-tests"}]})
        else:
            self._json(404, {"error": {"message": "no such path: %s" % self.path,
                                       "type": "invalid_request_error"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": {"message": "body over %d bytes" % MAX_BODY}})
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._record(raw)
            self._json(400, {"error": {"message": "body is not JSON"}})
            return
        self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": "no such path: %s" % self.path}})
        elif body.get("stream"):
            self._stream(body)
        else:
            self._json(200, self.server.owner.completion(body))

    def _stream(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in self.server.owner.chunks(body):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class ModelServer:
    """The server; start() binds a free port on 127.0.0.1, stop() ends it."""

    def __init__(self, *, answer=ANSWER, model=MODEL, provider=PROVIDER):
        self.answer = answer
        self.model = model
        self.provider = provider
        self.requests = []
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/v1" % self.port

    def config(self):
        return provider_config(self.base_url, provider=self.provider, model=self.model)

    def start(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="clawgate-modelserver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def completions(self):
        """The recorded POSTs to /v1/chat/completions (parsed bodies)."""
        with self._lock:
            return [r for r in self.requests
                    if r.method == "POST" and r.path.rstrip("/") == "/v1/chat/completions"]

    def wait_completion(self, timeout=30.0):
        """The first chat completion request, waiting for it up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.completions()
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError("the model server got no chat completion within %.0f s; it got: %r"
                             % (timeout, self.requests))

    def _base(self, body):
        return {"id": "chatcmpl-clawgate-%d" % len(self.requests), "created": int(time.time()),
                "model": body.get("model") or self.model}

    def completion(self, body):
        out = self._base(body)
        out.update(object="chat.completion", choices=[{
            "index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": self.answer}}],
            usage=self._usage())
        return out

    def _usage(self):
        words = len(self.answer.split())
        return {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}

    def chunks(self, body):
        """The chunk objects of a streamed answer: role, the answer in pieces, stop,
        and the usage chunk when stream_options.include_usage asks for it."""
        base = dict(self._base(body), object="chat.completion.chunk")
        pieces = [self.answer[i:i + CHUNK] for i in range(0, len(self.answer), CHUNK)]
        out = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}])]
        out += [dict(base, choices=[{"index": 0, "delta": {"content": p},
                                     "finish_reason": None}]) for p in pieces]
        out.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append(dict(base, choices=[], usage=self._usage()))
        return out
