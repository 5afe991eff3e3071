"""The page in a real headless Chromium (Selenium): upload a demo clip, read the result from the
DOM, record from the (fake) microphone, the token prompt. Screenshots are kept as test
artefacts under the pytest tmp dir.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``; ``.ci/run`` installs them) and ``selenium``; skipped with the reason where
no browser can be had.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from ._server import demo_signal, long_signal

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException

    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(
            "no headless Chromium here: install Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=820,1250",
        "--use-fake-ui-for-media-stream",  # the microphone prompt is accepted
        "--use-fake-device-for-media-stream",  # and the microphone is Chromium's test tone
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(arg)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download drivers
    try:
        chrome = webdriver.Chrome(service=webdriver.ChromeService(driver), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium could not be started: {exc.msg}")
    chrome.set_page_load_timeout(30)
    yield chrome
    chrome.quit()


def _wait(browser, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def _result(browser):
    """The label shown and the bars' probabilities, read from the DOM."""
    from selenium.webdriver.common.by import By

    label = browser.find_element(By.ID, "label").get_attribute("textContent")  # not CSS-cased
    bars = {
        bar.get_attribute("data-label"): float(bar.get_attribute("data-prob"))
        for bar in browser.find_elements(By.CSS_SELECTOR, "#probs .bar")
    }
    return label, bars


def _shown(element_id):
    def check(browser):
        from selenium.webdriver.common.by import By

        element = browser.find_element(By.ID, element_id)
        return element if element.is_displayed() and element.text.strip() else False

    return check


def _upload(browser, path):
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "file").send_keys(str(path))
    _wait(browser, lambda b: b.find_element(By.ID, "predict").is_enabled())
    browser.find_element(By.ID, "predict").click()


def test_page_upload_shows_the_emotion_and_its_probabilities(browser, live, predictor, tmp_path):
    import soundfile as sf
    from selenium.webdriver.common.by import By

    clip = tmp_path / "demo_angry.wav"
    sf.write(clip, demo_signal(5, "angry"), 16000)
    expected = predictor.predict_files([clip]).iloc[0]
    with live() as server:
        browser.get(server.url + "/")
        _wait(browser, lambda b: "classes:" in b.find_element(By.ID, "model").text)
        _upload(browser, clip)
        _wait(browser, _shown("label"))
        label, bars = _result(browser)
        browser.save_screenshot(str(tmp_path / "serve_page_clip.png"))
    assert label == expected["label"]
    assert set(bars) == set(predictor.classes)
    np.testing.assert_allclose(
        [bars[c] for c in predictor.classes],
        [expected[f"prob_{c}"] for c in predictor.classes],
        atol=1e-6,
    )
    assert (tmp_path / "serve_page_clip.png").stat().st_size > 10_000


def test_page_long_audio_shows_a_timeline_of_segments(browser, live, tmp_path):
    import soundfile as sf
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    long = tmp_path / "long_demo.wav"
    sf.write(long, long_signal(12.0), 16000)
    with live() as server:
        browser.get(server.url + "/")
        _wait(browser, lambda b: "classes:" in b.find_element(By.ID, "model").text)
        Select(browser.find_element(By.ID, "segment")).select_by_value("window")
        _upload(browser, long)
        _wait(browser, _shown("segments"))
        blocks = browser.find_elements(By.CSS_SELECTOR, "#timeline .seg")
        rows = browser.find_elements(By.CSS_SELECTOR, "#segment-table tbody tr")
        label, bars = _result(browser)
        shot = tmp_path / "serve_page.png"
        browser.save_screenshot(str(shot))
    # 12 s in 3 s windows with a 1.5 s hop: windows at 0, 1.5, ..., 9 s (the last reaches the end)
    assert len(blocks) == len(rows) == 7
    assert rows[0].text.split()[:2] == ["0.00", "3.00"]
    assert label in bars and abs(sum(bars.values()) - 1) < 1e-6
    assert shot.stat().st_size > 10_000
    print(f"page screenshot: {shot}")


def test_page_records_from_the_microphone(browser, live, tmp_path):
    from selenium.webdriver.common.by import By

    with live() as server:
        browser.get(server.url + "/")
        _wait(browser, lambda b: "classes:" in b.find_element(By.ID, "model").text)
        browser.find_element(By.ID, "record").click()
        _wait(browser, lambda b: "Stop" in b.find_element(By.ID, "record").text)
        _wait(browser, lambda b: b.execute_script("return recorder && recorder.chunks.length > 8"))
        browser.find_element(By.ID, "record").click()
        _wait(browser, lambda b: _shown("label")(b) or _shown("error")(b))
        error = browser.find_element(By.ID, "error")
        browser.save_screenshot(str(tmp_path / "serve_page_mic.png"))
        assert not error.is_displayed(), error.text
        label, bars = _result(browser)
        status = browser.find_element(By.ID, "record-status").text
    assert label in bars and "recorded" in status


def test_page_asks_for_the_token(browser, live, predictor, tmp_path):
    import soundfile as sf
    from selenium.webdriver.common.by import By

    clip = tmp_path / "demo_sad.wav"
    sf.write(clip, demo_signal(6, "sad"), 16000)
    with live(token="page-secret") as server:
        browser.get(server.url + "/")
        browser.execute_script("sessionStorage.clear()")
        browser.get(server.url + "/")
        box = _wait(browser, lambda b: b.find_element(By.ID, "token-box").is_displayed())
        assert box
        browser.find_element(By.ID, "token").send_keys("page-secret")
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, lambda b: "classes:" in b.find_element(By.ID, "model").text)
        _upload(browser, clip)
        _wait(browser, _shown("label"))
        label, _ = _result(browser)
        hidden = not browser.find_element(By.ID, "token-box").is_displayed()
        browser.execute_script("sessionStorage.clear()")
    assert hidden and label == predictor.predict_files([clip]).iloc[0]["label"]
