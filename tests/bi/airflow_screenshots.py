"""Screenshots of the Airflow UI for people to look at: the DAG list after a login, and one DAG run's page.

Run by the UI test as a child process with a hard time limit (``tests.processes.run``), so that nothing in
the browser, bounded or not, can hold the test run: what the test proves about Airflow it asks the REST
API, and a screenshot that could not be taken is only a warning.

    AIRFLOW_PASSWORD=… python -m tests.bi.airflow_screenshots URL DAG_ID RUN_ID TASK_ID OUT_DIR DAG_ID…
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.browser import BoundedBrowser


def take(url: str, password: str, dag_id: str, run_id: str, task_id: str, out: Path, dags: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = BoundedBrowser(playwright)
        try:
            with browser.page(viewport={"width": 1440, "height": 900}) as page:
                # The UI is a single-page app: its own requests go on after "load", so wait for the DOM and
                # then for what is to be shown.
                page.goto(f"{url}/dags", wait_until="domcontentloaded")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", password)
                page.locator("button[type=submit]").click()
                for name in dags:
                    page.get_by_text(name, exact=True).first.wait_for()
                page.screenshot(path=str(out / "airflow-dags.png"))
                print(f"wrote {out / 'airflow-dags.png'}", flush=True)

                page.goto(f"{url}/dags/{dag_id}/runs/{run_id}", wait_until="domcontentloaded")
                page.get_by_text(task_id).first.wait_for()
                page.screenshot(path=str(out / f"airflow-{dag_id.replace('_', '-')}-run.png"))
                print(f"wrote the run page of {dag_id}", flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    if len(sys.argv) < 7 or "AIRFLOW_PASSWORD" not in os.environ:
        sys.exit(__doc__)
    url, dag_id, run_id, task_id, out, *dags = sys.argv[1:]
    take(url, os.environ["AIRFLOW_PASSWORD"], dag_id, run_id, task_id, Path(out), dags)
