"""The fault matrix (seconnect.testing.fault_matrix) asserted: lost = 0 and duplicated = 0 in every
cell, transient faults ridden out by the retry policy, and hard faults reported clearly."""

from __future__ import annotations

import pytest

from seconnect.testing.fault_matrix import FAULTS, JOBS, run_cell

TRANSIENT = {"none", "500", "503", "429", "reset", "truncated", "slow", "restart"}


@pytest.mark.slow
@pytest.mark.parametrize("job", list(JOBS))
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("profile", ["generic", "bigcommerce"])  # a SETI type, the REST type
def test_fault_matrix_cell(job, fault, profile, tmp_path):
    cell = run_cell(job, fault, tmp_path, profile=profile)
    assert cell.lost == 0, cell
    assert cell.duplicated == 0, cell
    if fault == "bad credentials":
        # jobs fail with the cart's answer; outbound work is parked with it instead
        assert cell.outcome.startswith(("failed:", "parked:")) and "rejected" in cell.outcome, cell
    elif job == "test script":
        # Test Script URL reports the first failure to the person waiting instead of retrying.
        assert cell.outcome == "completed" or cell.outcome.startswith(("failed: sendversion", "failed: GET /v2/store")), \
            cell
    elif job == "status push" and fault != "none":
        # a status update whose delivery may have reached the cart is parked, never resent blindly
        assert cell.outcome == "completed" or cell.outcome.startswith("parked:"), cell
    elif fault in TRANSIENT:
        assert cell.outcome == "completed", cell
