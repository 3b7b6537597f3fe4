"""`wavetron serve` as a real process: every endpoint, streaming, the openai and Wyoming clients, bad input,
overload. One server for the module (1 worker, queue 1, at most 600 characters, Wyoming on a free port)."""
from __future__ import annotations

import asyncio
import inspect
import io
import json
import re
import struct
import threading
import time

import numpy as np
import pytest
import soundfile
from serve_helpers import expected_samples, finished_record, pcm_samples, start_server

from wavetron.serve.formats import available_formats
from wavetron.synth import Synthesizer
from wavetron.voice import CARD_FILE, VOICE_DIR, default_voice

PAUSE = inspect.signature(Synthesizer).parameters["pause"].default
RATE = 16000  # checked against /v1/voices in test_voices
FIVE = ("The first sentence is short. The second one is a little longer than the first. Here comes a third "
        "sentence, with a comma. The fourth sentence is here. And the fifth sentence ends the paragraph.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server("--workers", "1", "--queue", "1", "--max-chars", "600", "--wyoming", "tcp://127.0.0.1:0",
                          cwd=tmp_path_factory.mktemp("serve"))
    yield server
    server.stop()


def record(server, answer) -> dict:
    return finished_record(server, answer.headers["x-wavetron-request-id"])


def test_health_and_voices(server):
    assert server.request("GET", "/health").json()["status"] == "ok"
    body = server.request("GET", "/v1/voices").json()
    voice = default_voice()
    assert body["default"] == "default"
    [listed] = body["voices"]
    assert listed["name"] == "default" and listed["sample_rate"] == RATE
    assert listed["vocoder"] == voice.default_vocoder  # whatever the voice card names today
    assert set(listed["vocoders"]) == {"griffin-lim", "wavenet"}
    assert listed["card"] == json.loads((VOICE_DIR / CARD_FILE).read_text())


def test_speech_wav_and_flac(server):
    for fmt in ("wav", "flac"):
        answer = server.request("POST", "/v1/audio/speech",
                                {"model": "tts-1", "input": "Hello there. How are you?", "voice": "default",
                                 "response_format": fmt})
        assert answer.status == 200 and answer.headers["content-type"] == f"audio/{fmt}"
        audio, rate = soundfile.read(io.BytesIO(answer.body))
        assert rate == RATE and audio.ndim == 1
        assert len(audio) == expected_samples(record(server, answer), RATE, PAUSE)
        assert 0.05 < np.abs(audio).max() <= 1.0


def test_pcm_is_openai_24_khz_and_sample_rate_asks_for_the_voice_rate(server):
    text = {"input": "Raw samples, please.", "response_format": "pcm"}
    at_24k = server.request("POST", "/v1/audio/speech", text)
    assert at_24k.status == 200 and at_24k.headers["content-type"] == "audio/pcm"
    native = server.request("POST", "/v1/audio/speech", text | {"sample_rate": RATE})
    samples = expected_samples(record(server, native), RATE, PAUSE)
    assert len(pcm_samples(native.body)) == samples
    assert abs(len(pcm_samples(at_24k.body)) - samples * 24000 / RATE) <= 2  # resampled, same duration


def test_mp3_and_opus_where_libsndfile_encodes_them(server):
    formats = available_formats()  # what this libsndfile encodes; the server runs on the same one
    for fmt, media in (("mp3", "audio/mpeg"), ("opus", "audio/ogg")):
        answer = server.request("POST", "/v1/audio/speech", {"input": "Compressed.", "response_format": fmt})
        if fmt in formats:
            assert answer.status == 200 and answer.headers["content-type"] == media
            audio, _ = soundfile.read(io.BytesIO(answer.body))
            assert len(audio) > 0.2 * RATE
        else:
            assert answer.status == 400 and answer.json()["error"]["param"] == "response_format"
            assert "wav" in answer.json()["error"]["message"]


def test_speed_time_scales_the_audio(server):
    durations = {}
    for speed in (1.0, 2.0, 0.5):
        answer = server.request("POST", "/v1/audio/speech", {"input": "Speed changes the length of this sentence.",
                                                             "response_format": "wav", "speed": speed})
        assert answer.status == 200
        durations[speed] = float(answer.headers["x-wavetron-audio-seconds"])
    assert durations[2.0] == pytest.approx(durations[1.0] / 2, rel=0.03)
    assert durations[0.5] == pytest.approx(durations[1.0] * 2, rel=0.03)


def test_api_tts_get_and_post(server):
    got = server.request("GET", "/api/tts?text=Hello%20from%20the%20query.")
    assert got.status == 200 and got.headers["content-type"] == "audio/wav"
    posted = server.request("POST", "/api/tts", "Hello from the body.".encode(), {"Content-Type": "text/plain"})
    as_json = server.request("POST", "/api/tts", {"text": "Hello from the body."})
    for answer in (got, posted, as_json):
        audio, rate = soundfile.read(io.BytesIO(answer.body))
        assert rate == RATE and len(audio) == expected_samples(record(server, answer), RATE, PAUSE)
    assert posted.body == as_json.body  # same text, same seed


def _stream(server, body: dict, stop_after_first: bool = False):
    """POST a streaming request; returns (status, headers, chunks with their arrival time.time())."""
    connection = server.connection()
    connection.request("POST", "/v1/audio/speech", body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    headers = {k.lower(): v for k, v in response.getheaders()}
    chunks = []
    while True:
        data = response.read1(1 << 16)
        if not data:
            break
        chunks.append((time.time(), data))
        if stop_after_first:
            break
    connection.close()
    return response.status, headers, chunks


def test_stream_first_audio_leaves_before_the_last_sentence_is_synthesised(server):
    status, headers, chunks = _stream(server, {"input": FIVE, "response_format": "pcm", "sample_rate": RATE})
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    done = finished_record(server, headers["x-wavetron-request-id"])
    assert done["status"] == "done" and len(done["sentences"]) == 5
    first_arrival = chunks[0][0]
    assert first_arrival < done["sentences"][-1]["finished_at"]
    assert first_arrival < done["sentences"][1]["finished_at"]  # it followed the first sentence alone
    audio = pcm_samples(b"".join(data for _, data in chunks))
    assert len(audio) == expected_samples(done, RATE, PAUSE)


def test_stream_wav_has_an_open_ended_header(server):
    status, headers, chunks = _stream(server, {"input": "One sentence. And another one.", "response_format": "wav",
                                               "stream": True})
    assert status == 200 and headers["content-type"] == "audio/wav"
    data = b"".join(part for _, part in chunks)
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt " and data[36:40] == b"data"
    channels, rate, _, _, bits = struct.unpack("<HIIHH", data[22:36])
    assert (channels, rate, bits) == (1, RATE, 16)
    done = finished_record(server, headers["x-wavetron-request-id"])
    assert len(pcm_samples(data[44:])) == expected_samples(done, RATE, PAUSE)


def test_a_client_that_disconnects_stops_its_synthesis(server):
    text = " ".join(f"This is sentence number {i}, which is here to take a while." for i in range(1, 9))
    status, headers, chunks = _stream(server, {"input": text, "response_format": "pcm"}, stop_after_first=True)
    assert status == 200 and chunks
    job = finished_record(server, headers["x-wavetron-request-id"])
    assert job["status"] == "cancelled"
    assert job["sentences_total"] == 8 and len(job["sentences"]) <= 3
    assert server.request("GET", "/health").json()["in_flight"] == 0


def test_openai_client(server):
    import openai

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-checked", max_retries=0)
    speech = client.audio.speech.create(model="tts-1", voice="default", input="Hello from the client.",
                                        response_format="wav", speed=1.0)
    audio, rate = soundfile.read(io.BytesIO(speech.content))
    assert rate == RATE and len(audio) > 0.3 * RATE
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="default", input="One. Two.",
                                                            response_format="pcm") as response:
        pcm = b"".join(response.iter_bytes())
    assert len(pcm) > 0.3 * 24000 * 2
    with pytest.raises(openai.BadRequestError, match="alloy"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")


BAD = [  # body, status, the field the error names
    ({"input": ""}, 400, "input"),
    ({"input": "   \n "}, 400, "input"),
    ({"input": "!!! ??? ..."}, 400, "input"),
    ({"input": "word " * 150}, 413, "input"),
    ({"input": 42}, 400, "input"),
    ({"voice": "default"}, 400, "input"),
    ({"input": "Hi.", "voice": "alloy"}, 400, "voice"),
    ({"input": "Hi.", "voice": str(VOICE_DIR)}, 400, "voice"),
    ({"input": "Hi.", "voice": "../voices/default"}, 400, "voice"),
    ({"input": "Hi.", "vocoder": "hifigan"}, 400, "vocoder"),
    ({"input": "Hi.", "response_format": "aac"}, 400, "response_format"),
    ({"input": "Hi.", "response_format": ["wav"]}, 400, "response_format"),
    ({"input": "Hi.", "speed": 0.1}, 400, "speed"),
    ({"input": "Hi.", "speed": "fast"}, 400, "speed"),
    ({"input": "Hi.", "stream": "yes"}, 400, "stream"),
    ({"input": "Hi.", "stream": True, "response_format": "flac"}, 400, "stream"),
    ({"input": "Hi.", "sample_rate": 1000}, 400, "sample_rate"),
    ({"input": "Hi.", "model": 3}, 400, "model"),
    (b"{not json", 400, "body"),
    (b"\xff\xfe\x00", 400, "body"),
    (b"[1, 2]", 400, "body"),
    (b"", 400, "body"),
]


@pytest.mark.parametrize("body,status,param", BAD, ids=[f"{p}-{i}" for i, (_, _, p) in enumerate(BAD)])
def test_bad_input_is_a_json_error_naming_the_field(server, body, status, param):
    answer = server.request("POST", "/v1/audio/speech", body)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["param"] == param and param in error["message"]
    assert b"Traceback" not in answer.body


def test_bad_input_of_api_tts(server):
    for path, param in (("/api/tts", "text"), ("/api/tts?text=", "text"), ("/api/tts?text=Hi.&speed=abc", "speed"),
                        ("/api/tts?text=Hi.&voice=/etc/passwd", "voice")):
        answer = server.request("GET", path)
        assert answer.status == 400 and answer.json()["error"]["param"] == param, path
    assert server.request("GET", "/no/such/page").status == 404
    # after all the bad requests the server still answers a good one
    assert server.request("POST", "/v1/audio/speech", {"input": "Still here.", "response_format": "wav"}).status == 200


def test_beyond_the_queue_is_503_with_retry_after_and_others_are_served(server):
    answers = [None] * 5

    def ask(index: int) -> None:
        answers[index] = server.request("POST", "/v1/audio/speech",
                                        {"input": "A request of the overload test. It has two sentences.",
                                         "response_format": "wav"})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status for answer in answers)
    assert set(statuses) == {200, 503} and statuses.count(200) >= 2  # 1 worker + 1 queued are always served
    for answer in answers:
        if answer.status == 503:
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.json()["error"]["type"] == "server_busy"
        else:
            assert soundfile.read(io.BytesIO(answer.body))[0].size > 0


def test_metrics(server):
    server.request("POST", "/v1/audio/speech", {"input": ""})
    text = server.request("GET", "/metrics").body.decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert values['wavetron_requests_total{endpoint="/v1/audio/speech",status="200"}'] >= 3
    assert values['wavetron_requests_total{endpoint="/v1/audio/speech",status="400"}'] >= 1
    assert values['wavetron_request_duration_seconds_count{endpoint="/v1/audio/speech"}'] >= 4
    assert values['wavetron_time_to_first_audio_seconds_count{streamed="true"}'] >= 1
    assert values['wavetron_time_to_first_audio_seconds_count{streamed="false"}'] >= 1
    assert values["wavetron_audio_seconds_total"] > 1
    assert values["wavetron_queue_depth"] == 0 and values["wavetron_workers"] == 1
    assert values["process_resident_memory_bytes"] > 0
    assert re.search(r'wavetron_request_duration_seconds_bucket\{endpoint="/v1/audio/speech",le="\+Inf"\} \d+', text)


def test_page_and_its_assets_are_served_locally(server):
    page = server.request("GET", "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/app.js" in assets and "/static/style.css" in assets
    for asset in assets:
        if asset.startswith("data:"):
            continue
        assert asset.startswith("/"), asset  # nothing from another host
        body = server.request("GET", asset)
        assert body.status == 200, asset
        assert not re.search(rb"https?://", body.body), asset
    assert "Speak" in html and 'id="speed"' in html and 'id="vocoder"' in html


def test_wyoming_describe_and_synthesize(server):
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncClient
    from wyoming.error import Error
    from wyoming.info import Describe, Info
    from wyoming.tts import Synthesize, SynthesizeVoice

    async def talk():
        async with AsyncClient.from_uri(server.wyoming, read_timeout=120) as client:
            await client.write_event(Describe().event())
            info = Info.from_event(await client.read_event())
            await client.write_event(Synthesize(text="One sentence here. A second one. And a third.",
                                                voice=SynthesizeVoice(name="default")).event())
            events = []
            while not events or not AudioStop.is_type(events[-1].type):
                events.append(await client.read_event())
            await client.write_event(Synthesize(text="Hi.", voice=SynthesizeVoice(name="alloy")).event())
            error = await client.read_event()
            await client.write_event(Synthesize(text="...").event())
            empty = await client.read_event()
            return info, events, error, empty

    info, events, error, empty = asyncio.run(talk())
    assert [voice.name for voice in info.tts[0].voices] == ["default"]
    assert AudioStart.is_type(events[0].type) and AudioStop.is_type(events[-1].type)
    chunks = [AudioChunk.from_event(event) for event in events[1:-1]]
    assert len(chunks) == 3  # one per sentence
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (RATE, 2, 1)
    assert all(chunk.rate == RATE and chunk.width == 2 and len(chunk.audio) > 0.2 * RATE for chunk in chunks)
    assert Error.is_type(error.type) and "alloy" in Error.from_event(error).text
    assert Error.is_type(empty.type)


def test_each_vocoder_of_the_voice_can_be_asked_for(server):
    answers = {vocoder: server.request("POST", "/v1/audio/speech", {"input": "Hi there.", "vocoder": vocoder,
                                                                    "response_format": "wav"})
               for vocoder in ("griffin-lim", "wavenet")}
    audio = {vocoder: soundfile.read(io.BytesIO(answer.body))[0] for vocoder, answer in answers.items()}
    assert all(answer.status == 200 for answer in answers.values())
    # one seeded Tacotron mel, two vocoders (Griffin-Lim's inverse STFT may end one hop early)
    assert abs(len(audio["griffin-lim"]) - len(audio["wavenet"])) <= 256
    common = min(len(audio["griffin-lim"]), len(audio["wavenet"]))
    assert not np.allclose(audio["griffin-lim"][:common], audio["wavenet"][:common], atol=1e-3)
    assert {record(server, answer)["vocoder"] for answer in answers.values()} == {"griffin-lim", "wavenet"}


def test_the_servers_wavenet_speaks_as_the_synthesizer_does_with_the_voice_card(server):
    # the card's sharpening and refined mel reach the server's worker threads
    answer = server.request("POST", "/v1/audio/speech", {"input": "Hi there.", "vocoder": "wavenet",
                                                          "response_format": "wav"})
    served, rate = soundfile.read(io.BytesIO(answer.body), dtype="int16")
    voice = default_voice()
    audio, _ = Synthesizer(vocoder=voice.vocoder).synthesize("Hi there.")
    expected = np.round(np.clip(audio, -1, 1) * 32767)
    assert rate == RATE and served.shape == expected.shape
    assert np.abs(served.astype(np.float64) - expected).max() <= 1


def test_a_client_that_leaves_a_whole_file_request_stops_its_synthesis(server):
    import socket

    text = " ".join(f"This is sentence number {i}, which is here to take a while." for i in range(1, 9))
    body = json.dumps({"input": text, "response_format": "wav"}).encode()
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        # leave as soon as it is admitted: the eight sentences take about a second in all
        deadline = time.monotonic() + 30
        while not server.request("GET", "/health").json()["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.01)
    deadline = time.monotonic() + 60
    while server.request("GET", "/health").json()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.request("GET", "/health").json()["in_flight"] == 0
    metrics = server.request("GET", "/metrics").body.decode()
    # 499 (client closed) is what the server logs when it stopped before the last sentence
    assert re.search(r'wavetron_requests_total\{endpoint="/v1/audio/speech",status="499"\} [1-9]', metrics)
