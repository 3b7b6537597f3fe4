"""The web page in headless Chromium (Debian's chromium + chromium-driver, through selenium): type, press
Speak, and the streamed audio plays for its full duration, with no console error and nothing fetched from
elsewhere (the browser's network is the local server only)."""
from __future__ import annotations

import inspect
import shutil
import time

import pytest
from serve_helpers import expected_samples, finished_record, start_server

from wavetron.synth import Synthesizer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
PAUSE = inspect.signature(Synthesizer).parameters["pause"].default


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server("--no-warm-up", cwd=tmp_path_factory.mktemp("serve-page"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def _wait(condition, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_page_speaks_the_typed_sentence(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    voice = _wait(lambda: browser.find_element(By.ID, "voice").get_attribute("value"), 30, "the voice list")
    assert voice == "default"
    assert browser.find_element(By.ID, "vocoder").get_attribute("value") in ("griffin-lim", "wavenet")
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys("Hello from the browser. This sentence is the second one.")
    browser.find_element(By.ID, "speak").click()
    last = _wait(lambda: (lambda v: v if v and (v["ended"] or v["error"]) else None)(
        browser.execute_script("return window.wavetronLast")), what="the audio to finish playing")
    assert last["error"] is None
    job = finished_record(server, last["requestId"])
    assert job["status"] == "done" and len(job["sentences"]) == 2
    # every sample the server made was scheduled, and the audio clock ran for the whole of it
    assert last["samples"] == expected_samples(job, last["sampleRate"], PAUSE)
    assert last["duration"] == pytest.approx(last["samples"] / last["sampleRate"])
    assert last["duration"] - 0.05 <= last["playedSeconds"] <= last["duration"] + 2.0
    assert last["firstAudioMs"] > 0
    link = browser.find_element(By.ID, "download")
    assert link.is_displayed() and link.get_attribute("href").startswith("blob:")
    _wait(lambda: browser.execute_script("return document.getElementById('alignment').naturalWidth > 0"), 60,
          "the alignment image")
    rows = browser.find_elements(By.CSS_SELECTOR, "#timings tbody tr")
    assert len(rows) == 2 and "browser" in rows[0].text.lower()
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
