"""A worker process for the coordination tests: takes tickets, then the final lease.

Usage: coord_worker.py URL N_TRIALS NAME [--hang-on-ticket K | --hang-in-final]
Prints one JSON line: the trial numbers it ran, whether it ran the final action, and
the shared final result. ``--hang-on-ticket K`` hangs in its K-th trial (0-based) after
printing ``hanging``, so the test can kill it; ``--hang-in-final`` hangs in the final
action the same way.
"""

from __future__ import annotations

import json
import sys
import time

import optuna

from autotune.search.coordination import Tickets, run_once
from autotune.search.storage import Heartbeat, beating, open_storage


def main() -> None:
    url, n_trials, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hang_ticket = int(sys.argv[5]) if sys.argv[4:5] == ["--hang-on-ticket"] else -1
    hang_final = sys.argv[4:5] == ["--hang-in-final"]
    storage = open_storage(url, heartbeat=Heartbeat(interval_s=1, grace_s=3))
    study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True)
    tickets = Tickets(study, n_trials, seed_params={"x": 0.0}, poll_s=0.2)
    ran: list[int] = []
    while (trial := tickets.take()) is not None:
        with beating(study, trial):
            x = trial.suggest_float("x", 0.0, 1.0)
            if len(ran) == hang_ticket:
                print("hanging", flush=True)
                time.sleep(600)
            time.sleep(0.05)
        study.tell(trial, x)
        ran.append(trial.number)
    ran_final = []

    def final() -> dict[str, object]:
        ran_final.append(True)
        if hang_final:
            print("hanging", flush=True)
            time.sleep(600)
        done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        return {"by": name, "complete": len(done)}

    result = run_once(storage, "s", "final", final, poll_s=0.2, orphan_s=10)
    print(json.dumps({"ran": ran, "ran_final": bool(ran_final), "final": result}), flush=True)


if __name__ == "__main__":
    main()
