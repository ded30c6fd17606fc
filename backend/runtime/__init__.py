"""How the web app runs the reconstruction core, shared by every app that does: the run-time machinery.

Named *runtime* because it is what happens while something runs: an upload's check, a job, a chip, a
merge, a training. It holds

- :mod:`~backend.runtime.runner`: the CLI commands a child process runs (check, run, plan, chip, merge,
  finetune), on :mod:`~backend.runtime.supervise` (a child run to its end: progress, heartbeat ticks, time
  limit, stopping it) and :mod:`~backend.runtime.messages` (what users may read of a child: its errors,
  free of server paths);
- :mod:`~backend.runtime.lease`: the heartbeat lease that tells a live worker from a lost one;
- :mod:`~backend.runtime.dbretry`: database writes that outlast a short outage;
- :mod:`~backend.runtime.diskspace`: a full disk in words someone can act on;
- :mod:`~backend.runtime.checkslots`: at most so many upload checks at once.

It is a plain package, not a Django app (no models, not in ``INSTALLED_APPS``), and it imports no app:
it uses Django (settings, the database connection) and the core, and is told which rows to stamp or
fail. So every app may use it and it never pulls an app in (a test holds this; the apps' own order is in
:mod:`backend`'s docstring).
"""
