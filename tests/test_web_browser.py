"""The dashboard in a real headless Chromium (Selenium, `/usr/bin/chromedriver` given
explicitly: Selenium's driver manager would try to download one): staff logs in and sees the
fleet; a client logs in, validates a month, and `tma report` then shows it locked (its time
can no longer change). Screenshots are kept in the test's tmp dir and in .artifacts/."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from web_portal import MONTH, PASSWORDS, Portal
from web_portal import portal as portal  # the fixture

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,900",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: webdriver.Chrome, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 5000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy2(path, ARTIFACTS / path.name)
    print(f"screenshot: {path} (kept as {ARTIFACTS / path.name})")


def _follow(driver: webdriver.Chrome, element: WebElement) -> None:
    """Click a link or a submit button and wait for the page it loads: the click returns
    before the next page is there on a busy machine, and an element found in between
    belongs to the old page (stale the moment the new one arrives)."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _log_in(driver: webdriver.Chrome, url: str, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    _follow(driver, driver.find_element(By.ID, "login"))
    assert driver.find_element(By.ID, "who").text == name


def test_staff_logs_in_and_sees_the_fleet(
    browser: webdriver.Chrome, portal: Portal, tmp_path: Path
) -> None:
    browser.get(portal.url + "/")
    assert browser.current_url.startswith(f"{portal.url}/login")  # no session: the log-in
    _log_in(browser, portal.url, "alice")
    rows = browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr")
    assert [r.get_attribute("data-site") for r in rows] == ["www", "intranet", "shop"]
    assert "1 security" in rows[0].text and "updates" in rows[0].text
    _shot(browser, tmp_path, "web-fleet")
    _follow(browser, browser.find_element(By.LINK_TEXT, "www"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "www"
    rows = browser.find_elements(By.CSS_SELECTOR, "#interventions tbody tr")
    assert len(rows) == 1 and "Fixed www's form" in rows[0].text
    _shot(browser, tmp_path, "web-site")
    # globex's shop: its visual check's screenshots load under the CSP (our own origin).
    browser.get(portal.url + "/sites/shop")
    shots = browser.find_elements(By.CSS_SELECTOR, "#applies img.shot")
    assert [s.get_attribute("alt").split(":")[0] for s in shots] == ["before", "after", "changes"]
    loaded = "return arguments[0].complete && arguments[0].naturalWidth"
    for shot in shots:
        browser.execute_script("arguments[0].scrollIntoView()", shot)
        WebDriverWait(browser, 10).until(lambda b, s=shot: b.execute_script(loaded, s) > 0)
        assert browser.execute_script(loaded, shot) == 400, shot.get_attribute("src")
    _shot(browser, tmp_path, "web-site-screenshots")
    _follow(browser, shots[1])  # the thumbnail links to the full image
    assert browser.current_url.endswith("-after.png")


def test_a_client_validates_a_month_and_tma_report_shows_it_locked(
    browser: webdriver.Chrome, portal: Portal, tmp_path: Path
) -> None:
    _log_in(browser, portal.url, "acme-cto")
    sites = browser.find_elements(By.CSS_SELECTOR, "#fleet tbody tr")
    assert [r.get_attribute("data-site") for r in sites] == ["www", "intranet"]
    _follow(browser, browser.find_element(By.LINK_TEXT, "Bucket and reports"))
    _follow(browser, browser.find_element(By.LINK_TEXT, MONTH))
    assert browser.find_element(By.ID, "total").text == "1:30"
    # The burn-down chart loads under the page's CSP (an image of our own origin).
    width = browser.execute_script("return document.getElementById('burndown').naturalWidth")
    assert isinstance(width, int) and width > 100
    _follow(browser, browser.find_element(By.ID, "validate"))
    assert browser.find_element(By.ID, "validation").text.startswith("Validated by acme-cto")
    assert not browser.find_elements(By.ID, "validate")
    _shot(browser, tmp_path, "web-month-validated")
    report = portal.json("report", "monthly", "--client", "acme", "--month", MONTH)
    assert report["validation"]["validated"] is True
    assert (report["validation"]["by"], report["validation"]["source"]) == ("acme-cto", "portal")
    late = portal.tma(
        "time",
        "log",
        "--site",
        "www",
        "--hours",
        "1",
        "--kind",
        "corrective",
        "--date",
        f"{MONTH}-20",
        "Too late",
    )
    assert late.returncode == 6, late.stdout + late.stderr  # the month is locked
    other = portal.json("report", "monthly", "--client", "globex", "--month", MONTH)
    assert other["validation"]["validated"] is False


def test_sync_now_swaps_its_fragment_without_loading_the_page(
    browser: webdriver.Chrome, portal: Portal, tmp_path: Path
) -> None:
    """static/enhance.js: the form is posted with fetch (its CSRF token with it) and the
    server's fragment replaces the requests section; the page itself stays (its marker)."""
    _log_in(browser, portal.url, "alice")
    browser.get(portal.url + "/requests")
    assert not browser.find_elements(By.ID, "message")
    browser.execute_script("window.tmaMarker = 'same page'")
    before = browser.find_element(By.ID, "requests-fragment")
    browser.find_element(By.ID, "sync").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "message"))
    assert "request(s) changed" in browser.find_element(By.ID, "message").text
    assert browser.execute_script("return window.tmaMarker") == "same page"  # no page load
    assert browser.current_url == portal.url + "/requests"
    fresh = browser.find_element(By.ID, "requests-fragment")
    assert fresh.id != before.id and fresh.find_elements(By.CSS_SELECTOR, "#requests tbody tr")
    _shot(browser, tmp_path, "web-sync-now")
    # Again at once: refused (429) in the same fragment, the page still not reloaded.
    browser.find_element(By.ID, "sync").click()
    WebDriverWait(browser, 15).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#message .refused")
    )
    assert browser.execute_script("return window.tmaMarker") == "same page"


def test_the_runs_page_refreshes_its_fragment_in_place(
    browser: webdriver.Chrome, portal: Portal, tmp_path: Path
) -> None:
    _log_in(browser, portal.url, "alice")
    browser.get(portal.url + "/runs")
    shown = browser.find_element(By.ID, "as-of").text
    # The portal's fleet has no heartbeat.url: said so (tests/test_web_runs.py has one).
    assert "not configured (heartbeat.url)" in browser.find_element(By.ID, "heartbeat").text
    browser.execute_script("window.tmaMarker = 'same page'")
    time.sleep(1.1)  # the time shown is to the second
    browser.find_element(By.ID, "refresh").click()
    swapped = WebDriverWait(browser, 15, ignored_exceptions=[StaleElementReferenceException])
    swapped.until(lambda b: b.find_element(By.ID, "as-of").text != shown)
    assert browser.execute_script("return window.tmaMarker") == "same page"  # no page load
    assert browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    _shot(browser, tmp_path, "web-runs")
