"""The loopback model server the upstream uses (tests/lib/clawgate_test/modelserver.py),
checked on its own with plain HTTP: what the upstream's chat contract test relies on
is that it answers like an OpenAI-compatible server, streamed and not."""

import http.client
import json

from clawgate_test.modelserver import ANSWER, ModelServer


def _post(server, body):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def test_models_lists_the_one_model():
    with ModelServer() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/v1/models")
        resp = conn.getresponse()
        listing = json.loads(resp.read())
        conn.close()
    assert resp.status == 200
    assert [m["id"] for m in listing["data"]] == [server.model]


def test_a_completion_without_stream_is_one_json_answer():
    with ModelServer() as server:
        status, ctype, data = _post(server, {"model": server.model,
                                             "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200 and ctype == "application/json"
    answer = json.loads(data)
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": ANSWER}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert server.completions()[0].body["messages"][0]["content"] == "hi"


def test_a_streamed_completion_is_server_sent_events_ending_in_done():
    with ModelServer() as server:
        status, ctype, data = _post(server, {
            "model": server.model, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200 and ctype == "text/event-stream"
    events = [line[len(b"data: "):] for line in data.split(b"\n\n") if line]
    assert events[-1] == b"[DONE]", events
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == ANSWER
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) > 1
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_other_paths_are_404_and_recorded():
    with ModelServer() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/v1/nothing")
        status = conn.getresponse().status
        conn.close()
    assert status == 404
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/nothing")]
