"""The web page at / in a real headless browser (Debian's chromium, driven by selenium): a person's
steps (type, click), then the marks on the page against the API's answer to the same request."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from web import NoBrowser, chromium, running, submit

from anyner.serve import create_app

LABELS = "person, organization, date, location"

# What the page shows, read from the DOM as a person sees it: the text without the label tags,
# and for each mark the code-point offsets it covers, its label tags' text and its background.
READ_PAGE = """
const marks = [];
let text = "";
const length = () => Array.from(text).length;  // the API counts code points
function walk(node, mark) {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) text += child.data;
    else if (child.classList.contains("entity-label")) mark.tags.push(child.textContent);
    else if (child.tagName === "MARK") {
      const inner = {start: length(), tags: [], background: getComputedStyle(child).backgroundColor};
      walk(child, inner);
      inner.end = length();
      marks.push(inner);
    } else walk(child, mark);
  }
}
walk(document.getElementById("result"), null);
return {text, marks};
"""


@pytest.fixture(scope="module")
def browser():
    try:
        driver = chromium()
    except NoBrowser as exc:
        missing = str(exc)
    else:
        yield driver
        driver.quit()
        return
    if os.environ.get("CI"):  # CI installs the browser (.ci/run): missing there is a failure
        pytest.fail(missing, pytrace=False)
    pytest.skip(f"browser tests skipped outside CI (CI=1 makes this a failure): {missing}")


@pytest.fixture(scope="module")
def url(span_model):
    with running(create_app(span_model)) as (address, _):
        yield address


def marks_as_api_entities(page: dict) -> list[tuple[int, int, str, float]]:
    out = []
    for mark in page["marks"]:
        assert mark["background"] not in ("", "transparent", "rgba(0, 0, 0, 0)"), mark  # highlighted
        assert mark["tags"], mark  # and labelled
        for tag in mark["tags"]:
            label, score = tag.rsplit(" ", 1)
            out.append((mark["start"], mark["end"], label, float(score)))
    return sorted(out)


@pytest.mark.parametrize(
    ("text", "threshold", "nested", "multi_label"),
    [
        (
            "bill gates founded microsoft in albuquerque on april 4, café ĳ\nnew york city is big",
            "0.5",
            False,
            False,
        ),
        ("🙂 the person bill gates 🙂 founded microsoft in new york on april 4 🙂", "0.5", False, False),
        ("the person bill gates founded microsoft in new york city on april 4", "0.3", True, True),
    ],
    ids=["flat", "emoji-offsets", "nested-multi-label"],
)
def test_page_marks_exactly_what_the_api_returns(browser, url, text, threshold, nested, multi_label):
    submit(browser, url, text, LABELS, threshold, nested, multi_label)
    request = {
        "text": text,
        "labels": [label.strip() for label in LABELS.split(",")],
        "threshold": float(threshold),
        "flat_ner": not nested,
        "multi_label": multi_label,
    }
    api = httpx.post(f"{url}/v1/extract", json=request, timeout=30).json()
    entities = api["results"][0]["entities"]
    assert entities, "the check needs entities: the tiny model finds some at this threshold"

    page = browser.execute_script(READ_PAGE)
    assert page["text"] == text  # every character shown once, in order, nothing dropped
    want = sorted((e["start"], e["end"], e["label"], e["score"]) for e in entities)
    got = marks_as_api_entities(page)
    assert [g[:3] for g in got] == [w[:3] for w in want]
    assert [g[3] for g in got] == pytest.approx([w[3] for w in want], abs=0.005)  # shown with 2 decimals
    for start, end, *_ in got:
        assert page["text"][start:end] == text[start:end]

    browser.find_element(By.CSS_SELECTOR, "#raw summary").click()  # the raw JSON section opens
    assert json.loads(browser.find_element(By.ID, "json").text) == api


def test_page_shows_the_api_error(browser, url):
    submit(browser, url, "bill gates", "person, person", "0.5")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert "duplicate label 'person'" in error.text
    assert not browser.find_element(By.ID, "output").is_displayed()


def test_page_offers_the_servers_adapters(browser, tiny_backbone):
    import torch

    from anyner import AnyNER
    from anyner.adapters import AdaptSettings, LoraAdaptSettings

    torch.manual_seed(0)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    support = [{"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]}]
    settings = AdaptSettings(lora=LoraAdaptSettings(steps=5))
    model.adapt(support, name="legal", method="lora", settings=settings, evaluate=False)
    text = "bill gates founded microsoft in new york"
    with running(create_app(model)) as (address, _):
        submit(browser, address, text, "person, organization", "0.3", adapter="legal")
        request = {"text": text, "labels": ["person", "organization"], "threshold": 0.3, "adapter": "legal"}
        api = httpx.post(f"{address}/v1/extract", json=request, timeout=30).json()
        browser.find_element(By.CSS_SELECTOR, "#raw summary").click()
        shown = json.loads(browser.find_element(By.ID, "json").text)
    assert shown == api and shown["adapter"] == "legal"
    page = browser.execute_script(READ_PAGE)
    want = sorted((e["start"], e["end"], e["label"]) for e in api["results"][0]["entities"])
    assert [g[:3] for g in marks_as_api_entities(page)] == want


def test_page_routes_by_default_and_shows_where(browser, tiny_backbone):
    from helpers import routed_model

    model = routed_model(tiny_backbone)
    with running(create_app(model)) as (address, _):
        browser.get(address + "/")
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "adapter-choice").is_displayed())
        menu = Select(browser.find_element(By.ID, "adapter"))
        assert menu.first_selected_option.text == "auto (routed per text)"
        submit(browser, address, "april in new york city", "location", "0.0", adapter="auto")
        routed = browser.find_element(By.ID, "routed")
        assert routed.is_displayed() and routed.text == "Routed to adapter de."
        submit(browser, address, "april in new york city", "location", "0.0", adapter="")
        assert not browser.find_element(By.ID, "routed").is_displayed()
