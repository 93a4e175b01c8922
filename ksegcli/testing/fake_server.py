"""The fake Kameleoon + Segment server, under the name tests and `ksegcli sandbox` use.

The server lives in the package ksegcli.testing.fake (one module per service); this
module re-exports its public names and every API fact, and runs it::

    python -m ksegcli.testing.fake_server --port 8787 --seed-demo [--time-scale 0.1]
"""

from __future__ import annotations

from ksegcli.testing.fake import *  # noqa: F403
from ksegcli.testing.fake import __all__ as _package_names
from ksegcli.testing.fake import facts
from ksegcli.testing.fake.facts import *  # noqa: F403

__all__ = [*_package_names, *(name for name in vars(facts) if name.isupper())]

if __name__ == "__main__":
    raise SystemExit(main())  # noqa: F405
