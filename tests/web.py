"""Shared by the server tests: a real uvicorn server on 127.0.0.1 in a thread, and headless
Debian chromium driven by selenium (the screenshot script in benchmarks/ uses it too)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def running(app: Any, settings: Any = None) -> Iterator[tuple[str, Any]]:
    """Serve ``app`` on a free loopback port in a background thread; on exit, stop it the way
    Ctrl-C does (in-flight requests finish) and check that it stopped."""
    from anyner.serve import ServeSettings
    from anyner.serve.server import Server, server_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = server_config(app, settings or ServeSettings(), log_level="warning", lifespan="on")
    server = Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


class NoBrowser(RuntimeError):
    """Chromium or its driver is not installed."""


def chromium(width: int = 1100, height: int = 800):
    """Headless chromium from Debian's packages, driven by its own chromedriver (no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None)
        raise NoBrowser(
            f"{missing} not found on PATH: install Debian's packages with "
            "`apt-get install -y chromium chromium-driver` (.ci/run does this)"
        )
    options = Options()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)  # --no-sandbox: CI runs as root, where chromium's sandbox cannot start
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def submit(
    browser,
    url: str,
    text: str,
    labels: str,
    threshold: str,
    nested: bool = False,
    multi_label: bool = False,
    adapter: str | None = None,
) -> None:
    """Fill in the web page's form as a person would, click, and wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(url + "/")
    field = browser.find_element(By.ID, "text")
    field.clear()
    if all(ord(c) < 0x10000 for c in text):
        field.send_keys(text)
    else:  # chromedriver types only the Basic Multilingual Plane; set emoji the way a paste would
        browser.execute_script("arguments[0].value = arguments[1]", field, text)
    for name, value in (("labels", labels), ("threshold", threshold)):
        browser.find_element(By.ID, name).clear()
        browser.find_element(By.ID, name).send_keys(value)
    for name, on in (("nested", nested), ("multi-label", multi_label)):
        if browser.find_element(By.ID, name).is_selected() != on:
            browser.find_element(By.ID, name).click()
    if adapter is not None:  # the menu fills once the page has asked the server for its adapters
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "adapter-choice").is_displayed())
        Select(browser.find_element(By.ID, "adapter")).select_by_value(adapter)
    browser.find_element(By.ID, "extract").click()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "error")
    )
