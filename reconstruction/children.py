"""Child processes that must not outlive their parent (CARS under a reconstruction, a reconstruction under a worker)."""

import ctypes
import ctypes.util
import signal

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """In a child before exec (``subprocess.Popen(preexec_fn=...)``): ask Linux to SIGKILL it when its parent dies.

    A parent killed with SIGKILL runs no cleanup, so without this its child runs on: a worker's
    reconstruction would keep writing into a staging folder, a reconstruction's CARS (which runs in its own
    session) would keep matching for up to its timeout.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
