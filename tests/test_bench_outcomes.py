"""The cohort simulator at a tiny size: it drives the real store, is reproducible, and accounts for everyone."""

from __future__ import annotations

from pathlib import Path

from bench.outcomes import BEFORE, Scenario, current_rules, simulate


async def test_simulator_is_seeded_and_accounts_for_everyone(tmp_path: Path) -> None:
    scenario = Scenario(40, 2)
    first = await simulate(scenario, current_rules(), tmp_path / "a")
    again = await simulate(scenario, current_rules(), tmp_path / "b")
    assert (first.teamed, first.proposals, first.expired, first.wait_hours) == (
        again.teamed,
        again.proposals,
        again.expired,
        again.wait_hours,
    )
    assert first.asked > 0 and first.teams > 0 and first.proposals > 0
    # Everyone who asked is either in a team or listed as alone with a reason.
    assert first.teamed + len(first.alone) == first.asked
    assert all(reason for _, reason in first.alone)


async def test_before_rules_leave_leftovers_that_the_current_rules_seat(tmp_path: Path) -> None:
    scenario = Scenario(40, 3)
    before = await simulate(scenario, BEFORE, tmp_path / "before")
    after = await simulate(scenario, current_rules(), tmp_path / "after")
    assert before.trios == 0 and after.trios > 0
    assert after.teamed > before.teamed
