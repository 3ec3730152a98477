"""The screenshot in docs/images/web-page.png: ``anyner serve`` with the default model on
127.0.0.1, and its web page in Debian's headless chromium (``apt-get install -y chromium
chromium-driver``; the browser code is the web page test's, in tests/web.py).

    python benchmarks/screenshot_web_page.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from selenium.webdriver.common.by import By
from server import anyner_serve

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from web import chromium, submit  # noqa: E402

TEXT = "Bill Gates founded Microsoft on April 4, 1975."
LABELS = "person, organization, date"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model folder (default: the shipped model)")
    ap.add_argument("--output", type=Path, default=REPO / "docs" / "images" / "web-page.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        options = ["--model", args.model] if args.model else []
        with anyner_serve(options, Path(tmp) / "server.log") as (url, _):
            browser = chromium(width=1000, height=760)
            try:
                submit(browser, url, TEXT, LABELS, "0.5")
                if browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "done":
                    sys.exit(f"the page shows an error: {browser.find_element(By.ID, 'error').text}")
                args.output.parent.mkdir(parents=True, exist_ok=True)
                browser.save_screenshot(str(args.output))
            finally:
                browser.quit()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
