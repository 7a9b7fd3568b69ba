"""The kit catches deliberately broken plugins, and each failure names the fix.

The suites of broken_plugins.py run once, in a separate pytest process (the way a plugin author
runs the kit), with a JUnit report; each case below then reads what the kit said about one
breakage. The healthy copy of the same plugin must pass every check used here.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# (suite, kit test, what the failure must say was wrong, what it must say to change)
BREAKAGES = [
    ("TestAnswersNothingToSend", "test_inventory_send_reports_each_sku_and_get_reads_it_back",
     "declares inventory-send but sync_inventory answered nothing",
     "or stop declaring Capability.INVENTORY_SEND"),
    ("TestNumberlessOrders", "test_import_records_are_schema_valid[orders]",
     "'number' is a required property", "required: number"),
    ("TestOverlappingPages", "test_import_pages_without_gaps_or_repeats[orders]",
     "came more than once", "each request starts right after the last record of the previous one"),
    ("TestStopsAfterOnePage", "test_import_pages_without_gaps_or_repeats[orders]",
     "never came", "keep requesting pages until the cart has no more records"),
    ("TestInclusiveCheckpoint", "test_import_jobs_are_idempotent[orders]",
     "a second import received 1 orders that were imported already", "not the checkpoint's own order"),
    ("TestAnswersForEveryType", "test_hooks_ignore_other_cart_types",
     "for a cart of type 'SeconnectKitOtherType'", "`if cart.type != 'KitGreedy': return None`"),
    ("TestAuthAsRejection", "test_bad_credentials_raise_cart_auth_error",
     "raised CartRejected", "raise seconnect.errors.CartAuthError"),
    ("TestFaultsAsBugs", "test_cart_faults_surface_as_error_families",
     "while the cart answers HTTP 500 raised PluginError", "CartHTTPError(message, status=<the HTTP status>)"),
    ("TestNoTLSVerification", "test_cart_faults_surface_as_error_families",
     "a certificate no CA vouches for raised nothing", "never verify=False"),
    ("TestAcceptsEveryStatus", "test_status_rejection_is_parked",
     "which the cart does not have, was reported accepted", "return StatusResult(accepted=False"),
    ("TestResultsForFirstItemOnly", "test_inventory_send_reports_each_sku_and_get_reads_it_back",
     "no result for", "return one InventoryResult per item"),
    ("TestEmptyVersion", "test_test_script_returns_a_version",
     "test_script(check_credentials=False) answered ''", "non-empty string"),
    ("TestNoCustomerHook", "test_cart_type_declaration",
     "import-customers is declared supported but the plugin implements no import_customers hook",
     "declare Capability.IMPORT_CUSTOMERS unsupported"),
    ("TestNoRealtimeLevels", "test_cart_type_declaration",
     "realtime_levels is empty", "pass realtime_levels=[InventoryLevel.PRODUCT"),
]
CHECKS = sorted({test for _, test, _, _ in BREAKAGES})


@pytest.fixture(scope="module")
def kit_report(tmp_path_factory) -> dict[str, ET.Element]:
    """Run every (suite, check) of BREAKAGES plus the healthy suite's checks; testcases by id."""
    report = tmp_path_factory.mktemp("kit") / "junit.xml"
    nodes = [f"{HERE / 'broken_plugins.py'}::{suite}::{test}" for suite, test, _, _ in BREAKAGES]
    nodes += [f"{HERE / 'broken_plugins.py'}::TestHealthy::{test}" for test in CHECKS]
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                    *nodes], capture_output=True, text=True, timeout=600, check=False)
    cases = ET.parse(report).getroot().iter("testcase")
    return {f"{c.get('classname').rsplit('.', 1)[-1]}::{c.get('name')}": c for c in cases}


@pytest.mark.parametrize(("suite", "test", "problem", "fix"), BREAKAGES,
                         ids=[f"{s.removeprefix('Test')}-{t.removeprefix('test_')}" for s, t, _, _ in BREAKAGES])
def test_breakage_is_reported_with_its_fix(kit_report, suite, test, problem, fix):
    case = kit_report.get(f"{suite}::{test}")
    assert case is not None, f"{suite}::{test} did not run"
    failure = case.find("failure")
    assert failure is not None, f"the kit let {suite} pass {test}"
    text = failure.get("message", "") + (failure.text or "")
    assert problem in text, text
    assert "fix:" in text and fix in text, text


@pytest.mark.parametrize("test", CHECKS)
def test_the_healthy_plugin_passes_the_same_checks(kit_report, test):
    case = kit_report.get(f"TestHealthy::{test}")
    assert case is not None, f"TestHealthy::{test} did not run"
    problems = [e for e in case if e.tag in ("failure", "error", "skipped")]
    assert not problems, (problems[0].get("message") or "") + (problems[0].text or "")
