"""`wavetron serve --api-key KEY --voice NAME=PATH`: the key on every endpoint but /health and the page, a second
voice, the default bind address, and command-line errors."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
import soundfile
from serve_helpers import start_server

from wavetron.voice import VOICE_DIR

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server("--api-key", KEY, "--voice", f"second={VOICE_DIR}", "--no-warm-up",
                          cwd=tmp_path_factory.mktemp("serve-auth"))
    yield server
    server.stop()


def test_binds_to_localhost_unless_told(server):
    assert server.host == "127.0.0.1"


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/voices", None), ("GET", "/metrics", None), ("GET", "/api/tts?text=Hi.", None),
    ("POST", "/api/tts", b"Hi."), ("POST", "/v1/audio/speech", {"input": "Hi."}), ("GET", "/api/requests/x", None)])
def test_every_endpoint_but_health_wants_the_key(server, method, path, body):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):
        answer = server.request(method, path, body, headers)
        assert answer.status == 401, (path, headers)
        assert answer.json()["error"]["param"] == "authorization"
        assert answer.headers["www-authenticate"] == "Bearer"
    answer = server.request(method, path, body, {"Authorization": f"Bearer {KEY}"})
    assert answer.status != 401
    assert answer.status == (404 if path.startswith("/api/requests") else 200)


def test_health_and_the_page_need_no_key(server):
    assert server.request("GET", "/health").status == 200
    assert server.request("GET", "/").status == 200
    assert server.request("GET", "/static/app.js").status == 200


def test_a_second_voice_by_name_only(server):
    auth = {"Authorization": f"Bearer {KEY}"}
    names = [voice["name"] for voice in server.request("GET", "/v1/voices", headers=auth).json()["voices"]]
    assert names == ["default", "second"]
    answer = server.request("POST", "/v1/audio/speech", {"input": "The second voice.", "voice": "second",
                                                         "response_format": "wav"}, auth)
    assert answer.status == 200 and soundfile.read(io.BytesIO(answer.body))[0].size > 0
    path = server.request("POST", "/v1/audio/speech", {"input": "Hi.", "voice": str(VOICE_DIR)}, auth)
    assert path.status == 400 and path.json()["error"]["param"] == "voice"


def test_openai_client_with_and_without_the_key(server):
    import openai

    good = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
    speech = good.audio.speech.create(model="tts-1", voice="default", input="Hello.", response_format="flac")
    assert soundfile.read(io.BytesIO(speech.content))[1] == 16000
    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.audio.speech.create(model="tts-1", voice="default", input="Hello.")


@pytest.mark.parametrize("args,message", [
    (["--voice", "nameonly"], "NAME=PATH"),
    (["--voice", "bad/name=x"], "voice name"),
    (["--voice", "default=x"], "must be new"),
    (["--workers", "0"], "--workers"),
    (["--port", "70000"], "--port")])
def test_command_line_errors_are_one_line(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "wavetron", "serve", *args], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
