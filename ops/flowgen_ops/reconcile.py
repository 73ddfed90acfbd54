"""`flowgen reconcile`: the reconciler's use case run now, from the operator's shell.

The scheduled reconciler re-sends an intent once it has waited `STUCK_AFTER_SECONDS`. After the
queues themselves were lost (purged, recreated, or a local stack restarted with new ones),
every waiting intent is stranded at once: `--stuck-after 0` re-sends them all now. The same
conditional claims as always make a re-sent job that was not lost harmless (invariant 1).
"""

from __future__ import annotations

from flowgen.reconcile import Reconciled, reconcile, release_dead_leases
from flowgen_ops.target import Target


def reconcile_now(
    target: Target, *, stuck_after: int, max_receive_count: int = 3, release_leases: bool = False, limit: int = 1000
) -> Reconciled:
    """`max_receive_count`: the template's MaxReceiveCount (a lease that expired on the last
    allowed attempt is FAILED, not re-sent). `release_leases`: every worker is known to be
    stopped (the whole system restarted), so what they held is released first and re-sent now."""
    from flowgen import wiring
    from flowgen.clock import utcnow
    from flowgen.settings import ReconcilerTunables

    settings = target.settings()
    # model_copy: 0 is below the deployed minimum on purpose (that bound guards the dedupe TTL)
    tunables = ReconcilerTunables(max_receive_count=max_receive_count).model_copy(
        update={"stuck_after_seconds": max(stuck_after, 0)}
    )
    store, scheduler, questions = wiring.store(settings), wiring.scheduler(settings), wiring.question_store(settings)
    if release_leases:
        release_dead_leases(store, questions, utcnow(), limit)
    return reconcile(store, scheduler, tunables, utcnow(), limit=limit, questions=questions)
